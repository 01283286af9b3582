"""humaneval+, mbpp and mbpp+ from small files in EvalPlus's release format, written here: base and plus inputs,
float tolerance, EvalPlus's special oracles (find_zero, set-equal MBPP tasks), MBPP's tuple inputs, per-input
time limits, and results that cannot be faked by objects or rebound builtins."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from codealign.errors import InputError
from codealign.evaluate.base import get_benchmark
from codealign.evaluate.benchmarks import load_benchmark
from codealign.sandbox import Sandbox

HE = {p["task_id"]: p for p in load_benchmark("humaneval")}


def he_row(task_id, base, plus, atol=0):
    p = HE[task_id]
    return {"task_id": task_id, "prompt": p["prompt"], "entry_point": p["entry_point"],
            "canonical_solution": p["canonical_solution"], "base_input": base, "plus_input": plus, "atol": atol}  # fmt: skip


HUMANEVAL_PLUS = [
    he_row("HumanEval/0", [[[1.0, 2.0, 3.0], 0.5], [[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3]],
           [[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 0.5], [[0.5, 10.0, 20.0, 30.0, 40.0, 50.0, 50.4], 0.5]]),
    he_row("HumanEval/2", [[3.5], [1.33]], [[123.456], [0.001]]),
    he_row("HumanEval/32", [[[1, 2]], [[-6, 11, -6, 1]]], [[[2, -3, 0, 1]], [[5, 1]]], atol=1e-4),
]  # fmt: skip

MBPP_PLUS = [
    {"task_id": "Mbpp/2", "entry_point": "similar_elements", "atol": 0,
     "prompt": '"""\nWrite a function to find the shared elements from the given two lists.\n'
               'assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n',
     "canonical_solution": "def similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))\n",
     "base_input": [[[3, 4, 5, 6], [5, 7, 4, 10]], [[1, 2, 3, 4], [5, 4, 3, 7]]],
     "plus_input": [[[11, 12, 14, 13], [17, 15, 14, 13]], [[1, 2, 3], [4, 5, 6]]]},
    {"task_id": "Mbpp/3", "entry_point": "is_not_prime", "atol": 0,
     "prompt": '"""\nWrite a python function to identify non-prime numbers.\nassert is_not_prime(2) == False\n"""\n',
     "canonical_solution": "import math\ndef is_not_prime(n):\n    if n == 1:\n        return True\n"
                           "    for i in range(2, int(math.sqrt(n)) + 1):\n        if n % i == 0:\n"
                           "            return True\n    return False\n",
     "base_input": [[2], [10], [35], [37]], "plus_input": [[1], [7919], [1000001]]},
]  # fmt: skip


def write(path, rows, gz=False):
    text = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2) as sb:
        yield sb


def verdicts(bench, sandbox, solutions):
    tasks = {t.task_id: t for t in bench.tasks()}
    limits = bench.limits(None, 4096)
    programs = [bench.program(tasks[tid], code, limits, str(i)) for i, (tid, code) in enumerate(solutions)]
    return [(o.passed, o.error_type) for o in sandbox.run_all(programs)]


def test_humaneval_plus_base_and_plus_inputs(tmp_path, sandbox):
    bench = get_benchmark("humaneval+", write(tmp_path / "HumanEvalPlus.jsonl.gz", HUMANEVAL_PLUS, gz=True))
    assert bench.info()["size"] == 3 and len(bench.info()["sha256"]) == 64
    p0, p2, p32 = (HE[t]["prompt"] for t in ("HumanEval/0", "HumanEval/2", "HumanEval/32"))
    short_lists_only = "    return len(numbers) < 7 and any(abs(a - b) < threshold for i, a in enumerate(numbers) " \
                       "for b in numbers[i + 1:])\n"  # fmt: skip
    always_equal = "    class Anything:\n        def __eq__(self, other):\n            return True\n    return Anything()\n"
    got = verdicts(bench, sandbox, [
        ("HumanEval/0", p0 + HE["HumanEval/0"]["canonical_solution"]),
        ("HumanEval/0", p0 + short_lists_only),                      # right on base inputs, wrong on a plus input
        ("HumanEval/2", p2 + "    return number % 1.0 + 1e-9\n"),     # within the float tolerance
        ("HumanEval/2", p2 + "    return number % 1.0 + 1e-3\n"),     # outside it
        ("HumanEval/2", p2 + always_equal),
        ("HumanEval/32", p32 + HE["HumanEval/32"]["canonical_solution"]),
        ("HumanEval/32", p32 + "    return 3.0 if len(xs) == 4 and xs[0] == -6 else " + "float(" +
         "__import__('numpy').roots(xs[::-1]).real.min())\n"),        # another root: find_zero checks poly(x) == 0
        ("HumanEval/32", p32 + "    return 0.0\n"),
        ("HumanEval/2", "def isinstance(*a):\n    return True\n\ndef exec(*a, **k):\n    return None\n\n"
                        "def len(x):\n    return 0\n\n" + p2 + "    return 0.25\n"),  # rebound builtins change nothing
        ("HumanEval/2", p2 + "    import time\n    if number > 100:\n        time.sleep(3)\n    return number % 1.0\n"),
    ])  # fmt: skip
    assert [g[0] for g in got] == [True, False, True, False, False, True, True, False, False, False]
    assert got[1][1] == "AssertionError" and got[4][1] == "TypeError" and got[-1][1] == "TimeoutError"


def test_mbpp_base_and_mbpp_plus(tmp_path, sandbox, monkeypatch):
    data = write(tmp_path / "MbppPlus.jsonl", MBPP_PLUS)
    monkeypatch.setenv("MBPP_OVERRIDE_PATH", str(data))  # EvalPlus's own variable
    solutions = [
        ("Mbpp/2", "def similar_elements(a, b):\n    return sorted(set(a + ()) & set(b))\n"),  # tuples in, any order out
        ("Mbpp/3", "def is_not_prime(n):\n    if n > 5000:\n        return False\n"
                   "    return n == 1 or any(n % i == 0 for i in range(2, n))\n"),   # wrong only on a plus input
        ("Mbpp/3", "def is_not_prime(n):\n    return n % 2 == 0\n"),
    ]  # fmt: skip
    base = verdicts(get_benchmark("mbpp"), sandbox, solutions)
    plus = verdicts(get_benchmark("mbpp+"), sandbox, solutions)
    assert [b[0] for b in base] == [True, True, False]
    assert [p[0] for p in plus] == [True, False, False]


def test_mbpp_completion_is_cut_after_the_function(tmp_path):
    bench = get_benchmark("mbpp", write(tmp_path / "m.jsonl", MBPP_PLUS))
    task = bench.tasks()[1]
    text = "import math\ndef is_not_prime(n):\n    return n < 2\n\ndef unrelated():\n    pass\nprint(is_not_prime(4))\n"
    program = bench.from_completion(task, text)
    assert program.endswith("    return n < 2\n\n") and "import math" in program and "unrelated" not in program
    assert "\ndef " not in bench.stops(task)  # the model writes the function itself: "\ndef " must not stop it


def test_samples_command_scores_a_plus_file(tmp_path):
    data = write(tmp_path / "HumanEvalPlus.jsonl", HUMANEVAL_PLUS)
    samples = write(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"},
        {"task_id": "HumanEval/2", "solution": "def truncate_number(number):\n    return 0.5\n"},
    ])  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "codealign", "evaluate", "-b", "humaneval+", "--data", str(data),
                           "--samples", str(samples), "-k", "1,2"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"pass@1": 0.5, "pass@2": 1.0}


def test_missing_data_is_one_line_saying_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    with pytest.raises(InputError, match="--data PATH or set HUMANEVAL_OVERRIDE_PATH"):
        get_benchmark("humaneval+").tasks()
    done = subprocess.run([sys.executable, "-m", "codealign", "evaluate", "-b", "mbpp+", "--model", "m",
                           "--base-url", "http://127.0.0.1:9/v1"], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "MBPP_OVERRIDE_PATH": "", "COLUMNS": "400"})  # fmt: skip
    assert done.returncode != 0
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "MBPP_OVERRIDE_PATH" in lines[0]
    bad = write(tmp_path / "bad.jsonl", [{"task_id": "HumanEval/0", "prompt": "x"}])
    with pytest.raises(InputError, match="lacks"):
        get_benchmark("humaneval+", bad).tasks()
