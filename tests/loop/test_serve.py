"""The loop against a real `transformers serve` on 127.0.0.1, which it starts on each model it needs.

By default: the random tiny model served for its own base evaluation and for round 0's generation (one start, no
restart between them); it writes nothing usable, so round 0 keeps no data and the loop ends with one clear message.
Slow: evaluation through a second served backend restarted on each trained model gives, answer for answer, what
the same model gives in this process, so the server really served each round's new weights.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.loop.conftest import (
    FAST_TRAIN,
    REPO,
    TASKS,
    free_port,
    loop_command,
    read_json,
    scripted_loop,
    write_config,
)

pytestmark = [pytest.mark.network, pytest.mark.timeout(1800)]  # the machine may be shared and slow
SERVE = Path(sys.executable).parent / "transformers"


@pytest.fixture(autouse=True)
def _serving():
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    if not SERVE.exists():
        pytest.skip("transformers serve is not installed (pip install 'codealign[serving]')")


def _serve_command() -> str:
    return f"{SERVE} serve {{model}} --host {{host}} --port {{port}} --device cpu"


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "CODEALIGN_CACHE_DIR": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf"),
            "COLUMNS": "400"}  # fmt: skip


def test_a_round_that_keeps_nothing_ends_the_loop_with_a_clear_message(tiny_model_path, tmp_path):
    port = free_port()
    config = {
        "loop_dir": str(tmp_path / "loop"),
        "rounds": 2,
        "run": {
            "seeds": {"path": str(REPO / "examples" / "seeds.jsonl"), "limit": 2},
            "method_options": {"max_tokens": 12, "response_samples": 2},
            "backend": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": str(tiny_model_path),
                        "max_in_flight": 2, "timeout": 120},
        },
        "server": {"command": _serve_command(), "ready_timeout": 300, "stop_timeout": 15},
        "evaluate": {"benchmarks": [f"jsonl:{TASKS}"], "limit": 2, "max_tokens": 8, "ks": [1], "base_mode": "completion"},
    }  # fmt: skip
    path = write_config(tmp_path / "loop.yaml", config)
    done = subprocess.run(loop_command(path), capture_output=True, text=True, env=_env(tmp_path), cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    loop = tmp_path / "loop"
    summary = read_json(loop / "summary.json")
    # The random model's concept lists all run past max_tokens: the run lost everything at its first LLM stage.
    assert summary["rounds_trained"] == 0 and summary["last_model"] == str(tiny_model_path)
    assert "round 0 kept no data" in summary["stopped"] and "stage 'concepts': 2 in, 0 out" in summary["stopped"]
    assert "truncated at max_tokens 2" in summary["stopped"]
    assert f"stopped: {summary['stopped']}" in " ".join(done.stderr.split())
    assert not (loop / "round-0" / "sft").exists() and not (loop / "round-1").exists()
    # One server for the base evaluation and the generation, both by M0, stopped at the end.
    starts = [line for line in (loop / "server.log").read_text().splitlines() if line.startswith("--- ")]
    assert len(starts) == 1 and str(tiny_model_path) in starts[0] and not (loop / "server.json").exists()
    base = read_json(loop / "base" / "eval" / "jsonl-evaluate_tasks.summary.json")
    assert base["model"]["backend"] == "openai" and base["tasks"] == 2 and base["settings"]["mode"] == "completion"
    # Run again: the same stop, from the round's files, without starting a server or asking anything.
    again = subprocess.run(loop_command(path), capture_output=True, text=True, env=_env(tmp_path), cwd=REPO, timeout=300)
    assert again.returncode == 0 and "round 0 kept no data" in again.stderr
    assert len([line for line in (loop / "server.log").read_text().splitlines() if line.startswith("--- ")]) == 1


@pytest.mark.slow
def test_evaluation_through_a_server_restarted_on_each_trained_model(tiny_model_path, tmp_path):
    port = free_port()
    train = {**FAST_TRAIN, "max_steps": 30}
    evaluate = {"backend": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": "unused",
                            "max_in_flight": 2, "timeout": 120},
                "server": {"command": _serve_command(), "ready_timeout": 300, "stop_timeout": 15},
                "benchmarks": [f"jsonl:{TASKS}"], "own_data": True, "max_tokens": 48, "ks": [1], "workers": 2}  # fmt: skip
    config = scripted_loop(tmp_path, tiny_model_path, train=train, evaluate=evaluate)
    path = write_config(tmp_path / "loop.yaml", config)
    done = subprocess.run(loop_command(path), capture_output=True, text=True, env=_env(tmp_path), cwd=REPO, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    loop = tmp_path / "loop"
    starts = [line.split(" serve ", 1)[1].split()[0]
              for line in (loop / "eval-server.log").read_text().splitlines() if line.startswith("--- ")]  # fmt: skip
    m0, m1, m2 = str(tiny_model_path), str(loop / "round-0" / "sft"), str(loop / "round-1" / "sft")
    # Base evaluation (M0); round 0: M0 on its own tasks, M1 after training; round 1: M1 (running), M2.
    assert starts == [m0, m1, m2]
    for model, folder in ((m1, loop / "round-0" / "eval"), (m2, loop / "round-1" / "eval")):
        served = [json.loads(line) for line in (folder / "jsonl-evaluate_tasks.jsonl").read_text().splitlines()]
        out = tmp_path / "local" / Path(model).parent.name / "r.jsonl"
        args = [sys.executable, "-m", "codealign", "evaluate", "--benchmark", f"jsonl:{TASKS}", "--model", model,
                "--mode", "chat", "--max-tokens", "48", "-k", "1", "-o", str(out)]  # fmt: skip
        local = subprocess.run(args, capture_output=True, text=True, env=_env(tmp_path), cwd=REPO, timeout=600)
        assert local.returncode == 0, local.stderr[-2000:]
        here = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["raw"] for r in served] == [r["raw"] for r in here]
    first, second = (read_json(loop / f"round-{r}" / "round.json")["steps"]["evaluate"] for r in (0, 1))
    assert first != second  # two different models answered
