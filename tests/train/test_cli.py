"""`codealign train` from the command line: what a user sees when something is wrong is one `error:` line."""

import shutil
import subprocess
import sys

import pytest
import yaml

from codealign.cli import main
from tests.train.conftest import write_jsonl


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(["train", *map(str, argv)])
    err = " ".join(capsys.readouterr().err.split())
    return exc.value.code, err


@pytest.fixture
def setup(tiny_model_path, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "Say hi.", "response": "print('hi')"}] * 3)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump({"model": str(tiny_model_path), "output_dir": str(tmp_path / "out"), "data": str(data)}))
    return cfg, data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["lr=0.1"], "error: invalid {cfg}: lr: unknown key"),
        (["format=fimm"], "error: invalid {cfg}: format: Value error, unknown format 'fimm'; known: chat, commits, "
                          "completion, fim, instruction, repo (got 'fimm')"),
        (["peft=qlora"], "error: peft: qlora needs a CUDA GPU (4-bit weights through bitsandbytes); on this machine use peft: lora"),
        (["model=./no/such/model"], "error: model path not found: ./no/such/model"),
        (["data=./missing.jsonl"], "error: data not found: ./missing.jsonl (a run directory, a .jsonl/.parquet file or "
                                   "folder, or a hub dataset id)"),
        (["data={empty}"], "error: no training examples in the data (0 rows; dropped: no rows; max_length 1280)"),
        (["stage=dpo"], "error: data[0] ({data}): no 'chosen' field (tried chosen); name it with fields: "
                        "{{chosen: your_field}}"),
    ],
)
def test_bad_input_is_one_error_line(capsys, setup, tmp_path, overrides, message):
    cfg, data = setup
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    args = [a for o in overrides for a in ("--set", o.format(empty=empty))]
    code, err = run_cli(capsys, cfg, *args)
    assert code == 2
    assert err == message.format(cfg=cfg, data=data), err


def test_a_tokenizer_without_chat_template(capsys, setup, tiny_model_path, tmp_path):
    cfg, _ = setup
    plain = tmp_path / "plain-model"
    shutil.copytree(tiny_model_path, plain)
    (plain / "chat_template.jinja").unlink()
    code, err = run_cli(capsys, cfg, "--set", f"model={plain}", "--set", "format=chat")
    assert code == 2
    assert err.startswith(f"error: the tokenizer of '{plain}' has no chat template: use format: instruction")


def test_without_the_hf_extra(capsys, setup, monkeypatch):
    cfg, _ = setup
    monkeypatch.setitem(sys.modules, "trl", None)  # as if trl were not installed
    code, err = run_cli(capsys, cfg)
    assert code == 2
    assert err == "error: trl is needed for codealign train but is not installed: pip install 'codealign[hf]'"


def test_help_is_fast_and_names_the_examples():
    res = subprocess.run([sys.executable, "-m", "codealign", "train", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "examples/train-sft.yaml" in res.stdout
    imported = subprocess.run([sys.executable, "-c", "import sys, codealign.cli, codealign.train; "
                               "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert imported.stdout.strip() == "[]"


def test_example_configs_show_the_defaults():
    """examples/train-*.yaml annotate every default; they must stay the defaults."""
    from codealign.config import load_config
    from codealign.train import TrainConfig
    from tests.train.conftest import REPO

    for name in ("train-sft.yaml", "train-dpo.yaml"):
        example = load_config(TrainConfig, REPO / "examples" / name)
        bare = TrainConfig(stage=example.stage, model=example.model, output_dir=example.output_dir,
                           data=[s.model_dump() for s in example.data])  # fmt: skip
        assert example.model_dump() == bare.model_dump(), name
