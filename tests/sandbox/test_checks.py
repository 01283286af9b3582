"""Coverage and mutants measured in the sandbox: the figures agree with coverage.py, and the mutation score tells
tests that check values from tests that only run the code."""

import json

import pytest

from codealign.sandbox import Limits, Program, Sandbox, adequacy
from codealign.sandbox.mutants import mutants

PROGRAMS = {
    "branches": (
        "def sign(x):\n    if x > 0:\n        return 1\n    elif x < 0:\n        return -1\n    return 0\n\n\n"
        "def total(xs):\n    t = 0\n    for x in xs:\n        if x % 2:\n            t += x\n    return t\n",
        "assert sign(3) == 1\nassert sign(0) == 0\nassert total([1, 2, 3]) == 4\n",
    ),
    "loops_and_methods": (
        "def countdown(n):\n    steps = []\n    while n > 0:\n        steps.append(n)\n        n -= 1\n    return steps\n\n\n"
        "class Box:\n    \"\"\"A value, or a default.\"\"\"\n\n    def __init__(self, v):\n        self.v = v\n\n"
        "    def get(self, default=None):\n        if self.v is None:\n            return default\n        return self.v\n",
        "assert countdown(2) == [2, 1]\nassert Box(3).get() == 3\n",
    ),
    "untested_function": (
        "def a(x):\n    return x + 1\n\n\ndef b(x):\n    if x:\n        return 2\n    return 3\n",
        "assert a(1) == 2\n",
    ),
    # Functions called many times stop being traced once they have shown every line and branch: same figures.
    "hot_helpers": (
        "def is_prime(n):\n    if n < 2:\n        return False\n    for d in range(2, n):\n        if n % d == 0:\n"
        "            return False\n    return True\n\n\ndef primes(limit):\n    return [n for n in range(limit) if is_prime(n)]\n\n\n"
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n\n"
        "def evens(xs):\n    for x in xs:\n        if x % 2 == 0:\n            yield x\n\n\n"
        "def unused(x):\n    while x:\n        x -= 1\n    return x\n",
        "assert primes(30) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]\nassert fib(12) == 144\n"
        "assert list(evens([1, 2, 3, 4])) == [2, 4]\nassert primes(2000)[-1] == 1999\n",
    ),
    "exception_path": (
        "def parse(text):\n    try:\n        return int(text)\n    except ValueError:\n        return None\n",
        "assert parse('12') == 12\nassert parse('x') is None\n",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2) as sb:
        yield sb


def coverage_py(tmp_path, name, code, tests):
    """What coverage.py (branch mode) says about the same program and tests."""
    coverage = pytest.importorskip("coverage")
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    cov = coverage.Coverage(data_file=None, branch=True, config_file=False)
    namespace = {"__name__": "program"}
    cov.start()
    try:
        exec(compile(code, str(path), "exec"), namespace)
        exec(compile(tests, "<tests>", "exec"), namespace)
    finally:
        cov.stop()
    cov.json_report(outfile=str(tmp_path / f"{name}.json"), morfs=[str(path)])
    report = json.loads((tmp_path / f"{name}.json").read_text())["files"][str(path)]
    summary = report["summary"]
    return (summary["num_statements"], summary["covered_lines"], summary["num_branches"], summary["covered_branches"],
            tuple(report["missing_lines"]))  # fmt: skip


def test_line_and_branch_coverage_agree_with_coverage_py(sandbox, tmp_path):
    programs = [Program(id=k, code=c, tests=t, checks=("coverage",)) for k, (c, t) in PROGRAMS.items()]
    for outcome in sandbox.run_all(programs):
        code, tests = PROGRAMS[outcome.id]
        assert outcome.passed, outcome.error
        got = outcome.checks.coverage
        mine = (got.lines, got.lines_hit, got.branches, got.branches_hit, got.missing_lines)
        assert mine == coverage_py(tmp_path, outcome.id, code, tests), outcome.id


def test_coverage_is_measured_even_when_the_tests_fail(sandbox):
    code, _ = PROGRAMS["untested_function"]
    outcome = sandbox.run_all([Program(code=code, tests="assert b(1) == 2\nassert a(1) == 3\n", checks=("coverage",))])[0]
    assert outcome.status.value == "failed"
    assert outcome.checks.coverage.missing_lines == (8,)  # b(1) took the first branch; a ran before the failure


def test_mutants_are_deterministic_distinct_and_compile():
    code = PROGRAMS["branches"][0]
    first, again = mutants(code, 6), mutants(code, 6)
    assert [m.code for m in first] == [m.code for m in again]
    assert len({m.code for m in first}) == 6 and all(m.code != code for m in first)
    assert len({m.kind for m in first}) >= 4  # different kinds of change before two of one kind
    for m in first:
        compile(m.code, "<mutant>", "exec")
    assert mutants("def f(:\n", 4) == [] and mutants("x = 'only a string'\n", 4) == []


def test_tests_that_check_values_kill_mutants_and_tests_that_only_run_the_code_do_not(sandbox):
    code = PROGRAMS["branches"][0]
    checking = "assert sign(3) == 1\nassert sign(-2) == -1\nassert sign(0) == 0\nassert total([1, 2, 3]) == 4\n"
    running = "sign(3)\ntotal([1, 2])\nassert True\n"
    found = dict(adequacy.measure(sandbox, [("checking", code, checking), ("running", code, running)], Limits(timeout=5),
                                  coverage=True, n_mutants=4))  # fmt: skip
    assert found["checking"].mutation.run == 4 and found["checking"].mutation.kill_rate == 1.0
    assert found["running"].mutation.killed == 0 and len(found["running"].mutation.survived) == 4
    assert found["checking"].coverage.line_rate == 1.0
    assert found["running"].coverage.line_rate < 1.0


def test_a_mutant_that_loops_forever_is_killed_by_its_own_short_timeout(sandbox):
    code = "def countdown(n):\n    while n > 0:\n        n -= 1\n    return n\n"
    found = dict(adequacy.measure(sandbox, [("c", code, "assert countdown(3) == 0\n")], Limits(timeout=30),
                                  coverage=False, n_mutants=6, mutant_timeout=1.0))  # fmt: skip
    assert found["c"].mutation.kill_rate == 1.0  # `n -= 1` -> `n += 1` never ends: killed within 1 s, not 30
