import json
import subprocess
import sys

import pytest

from codealign.evaluate.benchmarks import load_benchmark
from codealign.evaluate.humaneval import evaluate_samples
from codealign.sandbox import Sandbox

ALWAYS_EQUAL = """    class Anything:
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

    return Anything()
"""


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2) as sb:
        yield sb


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_canonical_solutions_pass_every_task(tmp_path, sandbox):
    problems = load_benchmark("humaneval")
    samples = write(
        tmp_path / "s.jsonl",
        [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems],
    )
    report = evaluate_samples(samples, sandbox, ks=[1], output=tmp_path / "r.jsonl")
    assert report.pass_at_k == {"pass@1": 1.0}
    assert report.tasks == 164 and report.missing_tasks == 0
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(rows) == 164 and all(r["passed"] and r["result"] == "passed" for r in rows)


def test_cheating_completions_do_not_pass(tmp_path, sandbox):
    task = load_benchmark("humaneval")[0]["task_id"]
    cheats = [
        ALWAYS_EQUAL,
        "    import os\n    os._exit(0)\n",
        "    import sys\n    sys.exit(0)\n",
        "    print('All tests passed')\n    return None\n",
    ]
    rows = [{"task_id": task, "completion": c} for c in cheats]
    samples = write(
        tmp_path / "s.jsonl", [*rows, {"task_id": "HumanEval/9999", "completion": ""}, {"nope": 1}]
    )
    report = evaluate_samples(samples, sandbox, ks=[1, 4], output=tmp_path / "r.jsonl")
    assert report.pass_at_k == {"pass@1": 0.0, "pass@4": 0.0}
    assert [b.lineno for b in report.bad_lines] == [5, 6]


def test_evaluate_command_prints_pass_at_k(tmp_path):
    problems = load_benchmark("humaneval")[:3]
    rows = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems]
    rows += [{"task_id": p["task_id"], "completion": "    return None\n"} for p in problems]
    samples = write(tmp_path / "samples.jsonl", rows)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "codealign",
            "evaluate",
            "--benchmark",
            "humaneval",
            "--samples",
            str(samples),
            "-k",
            "1,2,5",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"pass@1": 0.5, "pass@2": 1.0}
    assert "pass@5 left out" in done.stderr
    results = (tmp_path / "samples_results.jsonl").read_text().splitlines()
    assert len(results) == 6
