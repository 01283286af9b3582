"""`codealign evaluate --model NAME --base-url URL` against a local OpenAI-compatible server that answers HumanEval
prompts with known right and wrong answers: the exact pass@k in completion and in chat mode, and a run killed with
SIGKILL half-way asks the server, when started again, only for what it had not answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codealign.evaluate.benchmarks import load_benchmark
from tests.evaluate.answers import HumanEvalAnswers, expected_pass_at_k
from tests.llm.fake_openai import FakeOpenAI

N = 3


def evaluate(server, tmp_path, *extra, name="results"):
    out = tmp_path / f"{name}.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "codealign", "evaluate", "--benchmark", "humaneval", "--model", server.model,
         "--base-url", server.base_url, "-n", str(N), "--temperature", "0.8", "-k", "1,2,3,10", "-o", str(out),
         "--workers", "2", *extra],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), out, done.stderr


@pytest.fixture(scope="module")
def plan():
    problems = list(load_benchmark("humaneval"))
    right = [(i * 7) % (N + 1) for i in range(len(problems))]
    return problems, right


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_exact_pass_at_k_against_a_server_with_known_answers(tmp_path, plan, mode):
    problems, right = plan
    answers = HumanEvalAnswers(problems, right, N)
    with FakeOpenAI(model="known-answers", responder=answers) as server:
        passk, out, stderr = evaluate(server, tmp_path, "--mode", mode)
        asked = len(server.posts)
    expected = {f"pass@{k}": expected_pass_at_k(N, right, k) for k in (1, 2, 3)}
    assert passk.keys() == expected.keys()  # pass@10 needs n >= 10
    for key, value in expected.items():
        assert passk[key] == pytest.approx(value, abs=1e-12), key
    assert asked == len(problems) * N
    assert "pass@10 left out" in stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(problems) * N
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task_id"], []).append(row)
        assert row["raw"] and row["program"]
    for problem, c in zip(problems, right, strict=True):
        got = sorted(by_task[problem["task_id"]], key=lambda r: r["sample"])
        assert [r["passed"] for r in got] == [i < c for i in range(N)], problem["task_id"]
    if mode == "completion":
        # The run-on text that slips past the stop sequences is cut off: it never reaches the program.
        assert not any("ran past the function" in r["program"] for r in rows)
        assert any("ran past the function" in r["raw"] for r in rows)
    else:
        assert not any("usage example must not run" in r["program"] for r in rows)
        assert all(not r["program"].startswith("Here is") for r in rows)
    summary = json.loads(out.with_name("results.summary.json").read_text())
    assert summary["pass_at_k"] == passk and summary["settings"]["mode"] == mode
    html = out.with_name("results.html").read_text()
    assert "<script" not in html and problems[0]["task_id"] in html and "pass@1" in html


def test_a_killed_evaluation_asks_nothing_twice(tmp_path, plan):
    problems, right = plan
    answers = HumanEvalAnswers(problems, right, N)
    backend = tmp_path / "backend.yaml"
    with FakeOpenAI(model="known-answers", responder=answers, delay=0.01) as server:
        backend.write_text(f"type: openai\nmodel: known-answers\nbase_url: {server.base_url}\nmax_in_flight: 4\n")
        argv = [sys.executable, "-m", "codealign", "evaluate", "--benchmark", "humaneval", "--backend", str(backend),
                "-n", str(N), "--temperature", "0.8", "-k", "1,3", "-o", str(tmp_path / "r.jsonl"), "--workers", "2"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 300
        while len(server.posts) < 150 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        first = [json.dumps(p, sort_keys=True) for p in server.posts]
        assert not (tmp_path / "r.jsonl").exists()

        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        second = [json.dumps(p, sort_keys=True) for p in server.posts[len(first):]]
        again = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        third = len(server.posts) - len(first) - len(second)

    asked_twice = set(first) & set(second)
    # Only what was in flight at the kill may be asked again: at most max_in_flight requests of N seeded samples,
    # each sample its own call.
    assert len(asked_twice) <= 4 * N
    assert len(set(first) | set(second)) == len(problems) * N
    assert third == 0
    expected = {"pass@1": expected_pass_at_k(N, right, 1), "pass@3": expected_pass_at_k(N, right, 3)}
    for run in (done, again):
        got = json.loads(run.stdout)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-12)
