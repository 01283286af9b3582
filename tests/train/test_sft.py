"""SFT on the tiny model: the loss falls, TRL trains on exactly our labels, and the folder is a model to serve."""

import json

import pytest

from codealign.errors import ConfigError
from codealign.train import train
from codealign.train.job import make_trainer, prepare_data
from tests.train.conftest import config, write_jsonl

PROMPT = ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
          "responses to user instructions.\n\n### Instruction\n{}\n\n### Response\n")
OPS = [("add", "+"), ("subtract", "-"), ("multiply", "*"), ("divide", "/")]


def task_rows(n=16):
    return [{"instruction": f"Write `{name}{i}(a, b)` to {name} two numbers.",
             "response": f"def {name}{i}(a, b):\n    return a {op} b\n"}
            for i in range(n // 4) for name, op in OPS]  # fmt: skip


def response_nll(model_dir, rows):
    """Mean negative log-likelihood of response tokens and EOS, computed here with plain transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in rows:
            prompt = tok(PROMPT.format(row["instruction"]))["input_ids"]
            answer = tok(row["response"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            logits = model(torch.tensor([prompt + answer])).logits[0]
            logp = torch.log_softmax(logits[len(prompt) - 1 : -1], -1)
            total -= logp[torch.arange(len(answer)), torch.tensor(answer)].sum().item()
            count += len(answer)
    return total / count


def test_the_trainer_trains_on_exactly_our_labels(tiny_model_path, tmp_path):
    rows = task_rows(8)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    setup = prepare_data(config(tiny_model_path, tmp_path / "out", str(data)))
    trainer = make_trainer(setup, [])
    tok = setup.tokenizer
    order = {tuple(ex["input_ids"]): ex for ex in trainer.train_dataset}
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    assert tok.pad_token_id != tok.eos_token_id
    for b in range(4):
        ids = batch["input_ids"][b].tolist()
        labels = batch["labels"][b].tolist()
        length = int(batch["attention_mask"][b].sum())
        row = next(r for r in rows if tuple(ids[:length]) in order
                   and tok.decode(ids[:length]).startswith(PROMPT.format(r["instruction"])))  # fmt: skip
        n = len(tok(PROMPT.format(row["instruction"]))["input_ids"])
        assert labels[:n] == [-100] * n  # the prompt: masked, token by token
        assert labels[n:length] == ids[n:length]  # the response and its EOS: learned
        assert labels[length - 1] == tok.eos_token_id
        assert labels[length:] == [-100] * (len(ids) - length)  # padding: masked
        assert ids[length:] == [tok.pad_token_id] * (len(ids) - length)


def test_sft_lowers_the_loss_and_leaves_a_model_to_serve(tiny_model_path, tmp_path):
    rows = task_rows(16)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "sft"
    before = response_nll(tiny_model_path, rows)
    summary = train(config(tiny_model_path, out, str(data), epochs=10, eval_size=4))
    after = response_nll(out, rows)
    assert after < 0.6 * before, (before, after)

    res = summary["results"]
    assert res["steps"] == 30 and res["train_examples"] == 12  # 12 rows in batches of 4, 10 epochs
    assert res["last_loss"] < res["first_loss"] and res["eval_loss"] is not None
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 31))  # logging_steps 1: every step once
    assert any("eval_loss" in r for r in log)
    svg = (out / "loss_curve.svg").read_text()
    assert svg.startswith("<svg") and "train loss" in svg and "eval loss" in svg and "<path" in svg
    card = (out / "README.md").read_text()
    assert f"base_model: {tiny_model_path}" in card and "| train | dropped" in card.replace("eval | train", "train")
    assert (out / "chat_template.jinja").is_file() and not (out / "checkpoints").exists()

    from codealign.llm import ChatMessage, Request, SamplingOptions, load_backend

    opts = SamplingOptions(max_tokens=12, temperature=0.0)
    with load_backend({"type": "transformers", "model": str(out), "device": "cpu"}) as backend:
        completion, chat = backend.generate([
            Request(prompt=PROMPT.format(rows[0]["instruction"]), options=opts),
            Request(messages=(ChatMessage(role="user", content=rows[0]["instruction"]),), options=opts),
        ])
    assert completion.error is None and chat.error is None
    # The chat template saved with the model renders the training prompt, so both requests are the same.
    assert completion.completions[0].text == chat.completions[0].text
    assert "def" in completion.completions[0].text  # 30 steps teach a tiny random model that answers start with def


def test_a_finished_run_is_not_trained_again_and_a_changed_one_is_refused(tiny_model_path, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", task_rows(4))
    out = tmp_path / "sft"
    first = train(config(tiny_model_path, out, str(data)))
    again = train(config(tiny_model_path, out, str(data), logging_steps=5))  # a free key: same run
    assert again["already"] and again["results"] == first["results"]
    with pytest.raises(ConfigError, match="holds a training run with different learning_rate"):
        train(config(tiny_model_path, out, str(data), learning_rate=1e-4))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty and holds no codealign training run"):
        train(config(tiny_model_path, other, str(data)))
