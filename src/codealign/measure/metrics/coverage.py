"""Coverage of each record's code by its own tests: lines and branches the tests execute, measured in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult, distribution
from codealign.measure.data import Item


class CoverageMetric(Metric):
    name = "coverage"
    group = "quality"
    version = 1
    description = (
        "the code run with its tests in the codealign sandbox with line and branch tracing: line_coverage = lines of "
        "the code executed / lines with code; branch_coverage = outcomes taken of every if, while and for (two "
        "each); means over records whose tests ran (10 s, 4 GiB by default)"
    )
    directions: ClassVar[dict[str, str]] = {"line_coverage": "higher", "branch_coverage": "higher", "full_coverage": "higher"}
    headline = ("line_coverage", "branch_coverage")
    needs = ("tests",)
    options = ("timeout", "memory_mb")
    timeout: float = 10.0
    memory_mb: int = 4096

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from codealign.sandbox import Limits, Sandbox, adequacy

        limits = Limits(timeout=self.timeout, memory_mb=self.memory_mb)
        # Python only: coverage is traced and mutants are made from Python's syntax tree.
        runnable = [(str(it.index), it.code, it.tests) for it in items
                    if it.language == "python" and it.code.strip() and it.tests.strip()]  # fmt: skip
        advance = ctx.progress("coverage", len(runnable))
        lines: list[float] = []
        branches: list[float] = []
        with Sandbox(workers=ctx.workers, cache=ctx.cache) as sandbox:
            for _, found in adequacy.measure(sandbox, runnable, limits, coverage=True):
                advance(1)
                if found.coverage is not None and found.coverage.lines:
                    lines.append(found.coverage.line_rate)
                    if found.coverage.branches:
                        branches.append(found.coverage.branch_rate)
        res = self.result()
        res.values.update(
            line_coverage=sum(lines) / len(lines) if lines else None,
            branch_coverage=sum(branches) / len(branches) if branches else None,
            full_coverage=sum(rate == 1.0 for rate in lines) / len(lines) if lines else None,
            measured=len(lines),
            with_branches=len(branches),
        )
        if lines:
            res.distributions["line_coverage"] = distribution(lines)
        if branches:
            res.distributions["branch_coverage"] = distribution(branches)
        if len(lines) < len(items):
            res.notes.append(f"{len(items) - len(lines)} records without Python code, tests or a completed run are not counted")
        return res
