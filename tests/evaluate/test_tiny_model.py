"""`codealign evaluate --model PATH` with the in-process transformers backend on the tiny random model: the whole
path runs (generation, extraction, sandbox, report) in completion and chat mode; a random model passes nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.hf

TASKS = [
    {"task_id": "add", "prompt": 'def add(a, b):\n    """Return the sum of a and b."""\n', "entry_point": "add",
     "tests": "assert add(1, 2) == 3\nassert add(-4, 4) == 0\n"},
    {"task_id": "shout", "prompt": 'def shout(text):\n    """Return text in upper case with a "!" after it."""\n',
     "tests": "assert shout('hi') == 'HI!'\n"},
    {"task_id": "evens", "instruction": "Write a Python function `evens(xs)` that keeps the even numbers of a list.",
     "tests": "assert evens([1, 2, 3, 4]) == [2, 4]\n"},
]  # fmt: skip


def write_tasks(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    return tasks


def test_tiny_model_end_to_end_from_the_command_line(tmp_path, tiny_model_path):
    tasks = write_tasks(tmp_path)
    out = tmp_path / "eval.jsonl"
    argv = [sys.executable, "-m", "codealign", "evaluate", "--benchmark", f"jsonl:{tasks}", "--model",
            str(tiny_model_path), "-n", "2", "--temperature", "0.8", "--max-tokens", "24", "-k", "1,2",
            "-o", str(out), "--workers", "1"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"pass@1": 0.0, "pass@2": 0.0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["task_id"], r["sample"]) for r in rows] == [(t["task_id"], i) for t in TASKS for i in range(2)]
    assert all(r["outcome"] != "passed" and r["outcome"] != "sandbox_error" for r in rows)
    summary = json.loads(out.with_name("eval.summary.json").read_text())
    assert summary["model"]["backend"] == "transformers" and summary["samples_generated"] == 6
    assert summary["tokens"]["completion"] > 0


def test_tiny_model_in_chat_mode(tmp_path, tiny_model_path):
    from codealign.cache import open_cache
    from codealign.evaluate.base import get_benchmark
    from codealign.evaluate.job import EvalSettings, evaluate_model
    from codealign.llm import BackendConfig, load_backend
    from codealign.sandbox import Sandbox

    bench = get_benchmark(f"jsonl:{write_tasks(tmp_path)}")
    config = BackendConfig(type="transformers", model=str(tiny_model_path), mode="chat")
    settings = EvalSettings(mode="chat", n=2, temperature=0.8, max_tokens=24, ks=(1, 2))
    with open_cache() as cache, Sandbox(workers=1, cache=cache) as sandbox, load_backend(config, cache) as backend:
        result = evaluate_model(bench, backend, sandbox, settings)
    assert result.pass_at_k == {"pass@1": 0.0, "pass@2": 0.0}
    assert len(result.samples) == 6 and result.generated == 6
    assert all(s.outcome not in ("passed", "sandbox_error") and s.raw for s in result.samples)
