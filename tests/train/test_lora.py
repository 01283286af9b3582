"""LoRA: the adapter saves, the merged model loads in the transformers backend and generates, and merged and
adapter give the same logits. FIM tokens the tiny tokenizer lacks are added, so the adapter carries trained rows."""

import json

import pytest

from codealign.train import train
from tests.train.conftest import config, write_jsonl

SEEDS = [
    {"seed": f"def scale_{i}(values, factor):\n    \"\"\"Multiply every value by factor.\"\"\"\n"
             f"    return [v * factor + {i} for v in values]\n", "provenance": {"repo": "org/x", "path": f"m{i}.py"}}
    for i in range(12)
]  # fmt: skip


@pytest.fixture(scope="module")
def lora_run(tiny_model_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("lora")
    data = write_jsonl(root / "seeds.jsonl", SEEDS)
    out = root / "out"
    summary = train(config(tiny_model_path, out, str(data), format="fim", peft="lora", learning_rate=1e-2, epochs=4,
                           lora={"r": 8, "alpha": 16, "dropout": 0.0}))  # fmt: skip
    return out, summary


def test_adapter_and_merged_weights_are_written(lora_run, tiny_model_path):
    out, summary = lora_run
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA" and adapter["r"] == 8 and str(adapter["base_model_name_or_path"]) == str(tiny_model_path)
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    merged_cfg = json.loads((out / "config.json").read_text())
    assert merged_cfg["vocab_size"] == 1027  # 1024 + the three FIM tokens
    assert any("added 3 special tokens" in note for note in summary["vocab_notes"])
    assert summary["data"]["sources"][0]["extra"]  # FIM modes were tallied
    assert "library_name: transformers" in (out / "README.md").read_text()


def test_merged_and_adapter_models_give_the_same_logits(lora_run, tiny_model_path):
    import torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, _ = lora_run
    tok = AutoTokenizer.from_pretrained(out)
    ids = torch.tensor([tok("<fim_prefix>def scale(values):\n<fim_suffix>\n<fim_middle>    return", add_special_tokens=False)["input_ids"]])
    assert ids.shape[1] > 8 and tok.convert_tokens_to_ids("<fim_middle>") in ids[0].tolist()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    adapted = AutoPeftModelForCausalLM.from_pretrained(out / "adapter").eval()  # base + adapter, as PEFT loads it
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path).eval()
    plain = torch.tensor([tok("def scale(values):\n    return", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        a, b = merged(ids).logits, adapted(ids).logits
        moved = (merged(plain).logits[..., :1024] - base(plain).logits).abs().max()
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    # ... and the adapter did change the model, so the comparison above is not between two copies of the base.
    assert moved > 1e-2


def test_the_merged_model_generates_in_the_transformers_backend(lora_run):
    from codealign.llm import Request, SamplingOptions, load_backend

    out, _ = lora_run
    with load_backend({"type": "transformers", "model": str(out), "device": "cpu"}) as backend:
        [result] = backend.generate([Request(prompt="<fim_prefix>def f(x):\n<fim_suffix>\n<fim_middle>",
                                             options=SamplingOptions(max_tokens=6, temperature=0.0))])
    assert result.error is None and result.completions[0].finish_reason in ("length", "stop")
    assert result.usage.completion_tokens > 0
