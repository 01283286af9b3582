"""Execution pass rate: each record's code runs with its tests in the sandbox; typed outcomes give the other rates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult, distribution
from codealign.measure.data import Item

ERRORS = ("failed", "memory", "syntax", "crashed")


class Execution(Metric):
    name = "execution"
    group = "quality"
    version = 1
    description = (
        "the response's code followed by its tests, run once in the codealign sandbox (10 s, 4 GiB by default); "
        "pass_rate = passed / executed; sandbox errors are not the program's fault and are left out of the rates"
    )
    directions: ClassVar[dict[str, str]] = {"pass_rate": "higher", "timeout_rate": "lower", "error_rate": "lower"}
    headline = ("pass_rate", "timeout_rate", "error_rate")
    needs = ("tests",)
    options = ("timeout", "memory_mb", "checks")
    timeout: float = 10.0
    memory_mb: int = 4096
    # What the sandbox measures while a program runs ("asserts"): a run's own measurement passes what its
    # pipeline ran with, so the programs have the pipeline's cache keys and nothing runs twice.
    checks: tuple[str, ...] = ()

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from codealign.sandbox import Limits, Program, Sandbox

        limits = Limits(timeout=self.timeout, memory_mb=self.memory_mb)
        runnable = [it for it in items if it.code.strip() and it.tests.strip()]
        checks = (self.checks,) if isinstance(self.checks, str) else tuple(self.checks)
        programs = (Program(id=str(it.index), language=it.language, code=it.code, tests=it.tests, limits=limits,
                            checks=checks) for it in runnable)  # fmt: skip
        advance = ctx.progress("execute", len(runnable))
        statuses: Counter = Counter()
        durations: list[float] = []
        with Sandbox(workers=ctx.workers, cache=ctx.cache) as sandbox:
            for outcome in sandbox.run(programs):
                statuses[outcome.status.value] += 1
                if not outcome.cached:
                    durations.append(outcome.duration)
                advance(1)
        executed = sum(statuses.values()) - statuses["sandbox_error"]
        res = self.result()

        def rate(k: str) -> float | None:
            return statuses[k] / executed if executed else None

        res.values.update(
            pass_rate=rate("passed"),
            timeout_rate=rate("timeout"),
            error_rate=(sum(statuses[k] for k in ERRORS) / executed) if executed else None,
            executed=executed,
            not_runnable=len(items) - len(runnable),
            sandbox_errors=statuses["sandbox_error"],
        )
        res.counts["outcome"] = dict(statuses.most_common())
        if durations:
            res.distributions["seconds"] = distribution(durations)
        if len(runnable) < len(items):
            res.notes.append(f"{len(items) - len(runnable)} records without code or tests were not run")
        return res
