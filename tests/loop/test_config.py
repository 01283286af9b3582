"""The loop config: what the loop sets is refused in the blocks, the blocks are checked by their commands' own
models before anything runs, and a resumed loop may grow but not change what decides its data and models."""

import pytest
from tests.loop.conftest import REPO, scripted_loop, write_config
from typer.testing import CliRunner

from codealign.cli import app
from codealign.config import load_config


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "500")  # an error line is one line however long


def _error(tmp_path, capsys, config):
    """What `codealign loop` says, and its exit status, on a config that must be refused."""
    from codealign.cli import main

    path = write_config(tmp_path / "loop.yaml", config)
    with pytest.raises(SystemExit) as exit_:
        main(["loop", str(path), "-q"])
    captured = capsys.readouterr()
    return exit_.value.code, captured.out + captured.err


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["run"].update(run_dir="x"), "run.run_dir is set by the loop"),
        (lambda c: c["train"].update(model="x"), "train.model is set by the loop"),
        (lambda c: c.update(dpo={"output_dir": "x"}), "dpo.output_dir is set by the loop"),
        (lambda c: c["train"].update(peft="lora", merge=False), "train.merge must stay true"),
        (lambda c: c["run"].update(seedz={"path": "x"}), "run block: seedz: unknown key"),
        (lambda c: c["train"].update(epochz=1), "train block: epochz: unknown key"),
        (lambda c: c["run"]["backend"].pop("base_url"), "server needs run.backend.base_url"),
        (lambda c: c["server"].update(command="vllm serve --port {port}"), "must contain {model}"),
        (lambda c: c.update(train_from="scratch"), "train_from: Input should be 'base' or 'previous'"),
        (lambda c: c["evaluate"].update(server={"command": "x {model}"}, backend=None), "evaluate.server needs"),
    ],
)
def test_bad_config_is_one_error_line(tmp_path, capsys, tiny_model_path, change, message):
    config = scripted_loop(tmp_path, tiny_model_path)
    change(config)
    code, output = _error(tmp_path, capsys, config)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], output
    assert not (tmp_path / "loop").exists()


def test_a_resumed_loop_may_grow_but_not_change_its_recipe(tmp_path, capsys, tiny_model_path):
    from codealign.loop import LoopConfig
    from codealign.loop.rounds import Loop
    from codealign.runs import RunDir, flatten

    config = scripted_loop(tmp_path, tiny_model_path)
    cfg = load_config(LoopConfig, write_config(tmp_path / "loop.yaml", config))
    RunDir(cfg.loop_dir).check_and_write_config(cfg.model_dump(mode="json"), flatten(cfg.fixed()))
    config["train"]["learning_rate"] = 0.5
    config["run"]["method_options"]["response_samples"] = 2
    code, output = _error(tmp_path, capsys, config)
    assert code == 2 and "different run.method_options.response_samples, train.learning_rate" in " ".join(output.split())
    # More rounds, other benchmarks, another launcher: the same loop, continued.
    config = scripted_loop(tmp_path, tiny_model_path, rounds=5, train_launcher=["{python}"])
    config["evaluate"]["benchmarks"] = []
    grown = load_config(LoopConfig, write_config(tmp_path / "loop.yaml", config))
    assert RunDir(grown.loop_dir).check_and_write_config(grown.model_dump(mode="json"), flatten(grown.fixed()))
    assert Loop(grown, None).dir == tmp_path / "loop"


def test_the_annotated_examples_are_valid_and_show_the_defaults():
    from codealign.loop import LoopConfig
    from codealign.loop.config import LoopEvalConfig, ReportConfig, ServerConfig

    full = load_config(LoopConfig, REPO / "examples" / "loop.yaml")
    # The example says every loop option is shown at its default, except those it chooses for a real setup.
    chosen = {"benchmarks", "base_mode"}
    defaults = LoopEvalConfig().model_dump()
    assert {k: v for k, v in full.evaluate.model_dump().items() if k not in chosen} == {
        k: v for k, v in defaults.items() if k not in chosen}  # fmt: skip
    server = full.server.model_dump()
    assert {**ServerConfig(command="x {model}").model_dump(), "command": server["command"]} == server
    assert full.report == ReportConfig()
    fields = LoopConfig.model_fields
    for key in ("rounds", "train_from", "train_data", "train_launcher", "dpo"):
        assert getattr(full, key) == fields[key].default, key
    demo = load_config(LoopConfig, REPO / "examples" / "loop-demo.yaml")
    assert demo.rounds == 2 and demo.evaluate.own_data and demo.dpo is not None


def test_help_names_the_example():
    result = CliRunner().invoke(app, ["loop", "--help"])
    assert result.exit_code == 0 and "examples/loop.yaml" in result.output
