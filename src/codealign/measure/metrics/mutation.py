"""Mutation score of each record's tests: the share of cheap mutants of its code that the tests kill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult, distribution
from codealign.measure.data import Item


class Mutation(Metric):
    name = "mutation"
    group = "quality"
    version = 1
    description = (
        "up to `mutants` one-change copies of the code (comparison flipped, operator swapped, constant changed, "
        "condition negated, value returned as None; codealign.sandbox.mutants) run with the record's tests in the "
        "sandbox; kill_rate = mutants whose tests fail / mutants run, averaged over records; equivalent mutants "
        "survive any test, so 1.0 is a ceiling rarely reached"
    )
    directions: ClassVar[dict[str, str]] = {"kill_rate": "higher", "no_kill": "lower"}
    headline = ("kill_rate", "no_kill")
    needs = ("tests",)
    options = ("mutants", "timeout", "memory_mb")
    default = False  # `mutants` runs per record: asked for by name (--metrics default,mutation)
    mutants: int = 4
    timeout: float = 2.0
    memory_mb: int = 4096

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from codealign.sandbox import Limits, Sandbox, adequacy

        limits = Limits(timeout=self.timeout, memory_mb=self.memory_mb)
        # Python only: coverage is traced and mutants are made from Python's syntax tree.
        runnable = [(str(it.index), it.code, it.tests) for it in items
                    if it.language == "python" and it.code.strip() and it.tests.strip()]  # fmt: skip
        advance = ctx.progress("mutants", len(runnable))
        rates: list[float] = []
        run = 0
        with Sandbox(workers=ctx.workers, cache=ctx.cache) as sandbox:
            found = adequacy.measure(sandbox, runnable, limits, coverage=False, n_mutants=self.mutants,
                                     mutant_timeout=self.timeout)  # fmt: skip
            for _, measured in found:
                advance(1)
                score = measured.mutation
                if score is not None and score.kill_rate is not None:
                    rates.append(score.kill_rate)
                    run += score.run
        res = self.result()
        res.values.update(
            kill_rate=sum(rates) / len(rates) if rates else None,
            no_kill=sum(rate == 0.0 for rate in rates) / len(rates) if rates else None,
            measured=len(rates),
            mutants_run=run,
        )
        if rates:
            res.distributions["kill_rate"] = distribution(rates)
        if len(rates) < len(items):
            res.notes.append(f"{len(items) - len(rates)} records without Python code, tests or a mutable construct are not counted")
        return res
