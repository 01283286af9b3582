"""Execution feedback as ordinary steps: each consumes `execution` records and writes one row per sample, in sample
order, which selection reads next to the sample.

    adequacy     coverage of each passing solution by its own tests, and the share of its mutants they kill
                 execution -> adequacy
    cross_check  each sample's code against the tests of up to T passing samples of the same instruction
                 execution -> cross_execution

Both run only programs the sandbox caches, so a rerun, or a rerun with the step switched off and on again, executes
nothing twice. A step's options are written into its markers; a shard made with other options is made again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from codealign.pipeline.steps import ShardOutput, Step, sample_program
from codealign.records import Record

ADEQUACY = "adequacy"
CROSS_CHECK = "cross_check"


def sample_items(ctx: Any, execution_source: str | None) -> Iterator[tuple[Record, Record, Any]]:
    """(instruction, sample, outcome) for every sample, from the stages that made them."""
    from codealign.pipeline.finalize import iter_items

    plan = ctx.plan
    return iter_items(ctx.rd, plan.source("instruction"), plan.source("sample"), execution_source)


def runnable(ctx: Any, sample: Record) -> Any:
    """The program the sandbox ran for a sample (language, code, tests), or None when it could not run."""
    from codealign.synth.base import ParseError

    program = sample_program(ctx, sample)
    return None if isinstance(program, ParseError) else program


class AdequacyStep(Step):
    """Coverage and mutation score of every passing sample; `None` parts for the others."""

    name = ADEQUACY
    consumes = "execution"
    produces = ("adequacy",)

    def __init__(self, coverage: bool, mutants: int, mutant_timeout: float) -> None:
        self.coverage = coverage
        self.mutants = mutants
        self.mutant_timeout = mutant_timeout

    def options(self) -> dict[str, Any]:
        return {"coverage": self.coverage, "mutants": self.mutants, "mutant_timeout": self.mutant_timeout}

    def inputs(self, ctx: Any, source: str | None) -> Iterable[Any]:
        return sample_items(ctx, source)

    def total(self, ctx: Any, source: str) -> int | None:
        return sum(m.get("in", 0) for m in ctx.rd.markers(source))  # every execution row, not only the passing

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        from codealign.sandbox import adequacy
        from codealign.sandbox.types import Status

        work = []
        for _, (_, sample, outcome) in items:
            program = runnable(ctx, sample) if outcome is not None and outcome.status is Status.PASSED else None
            if program is not None and program.language == "python":  # coverage and mutants read Python
                work.append((sample.id, program.code, program.tests))
        counts: dict[str, int] = {}
        measured = dict(
            adequacy.measure(ctx.sandbox, work, ctx.limits, self.coverage, self.mutants, self.mutant_timeout, counts)
        )
        rows = []
        for _, (instruction, sample, _) in items:
            found = measured.get(sample.id)
            row: dict[str, Any] = {"kind": self.produces[0], "sample": sample.id, "instruction": instruction.id}
            row.update(found.model_dump(mode="json") if found is not None else {"coverage": None, "mutation": None})
            rows.append(row)
        marker = {"in": len(items), "out": len(measured), "rejected": {}, **counts}
        return ShardOutput(rows, [], marker, hits=len(items) if counts.get("hits") == counts.get("programs") else 0)


class CrossCheckStep(Step):
    """Every sample of an instruction against the tests of up to `tests` of its passing samples (CodeT-style)."""

    name = CROSS_CHECK
    consumes = "execution"
    produces = ("cross_execution",)

    def __init__(self, tests: int) -> None:
        self.tests = tests

    def options(self) -> dict[str, Any]:
        return {"tests": self.tests}

    def inputs(self, ctx: Any, source: str | None) -> Iterable[Any]:
        # One item per instruction: its samples stay together in one shard.
        for _, group in groupby(sample_items(ctx, source), key=lambda item: item[0].id):
            yield list(group)

    def total(self, ctx: Any, source: str) -> int | None:
        return None  # items are instructions, which no marker counts

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        from codealign.sandbox.types import Status
        from codealign.select.consensus import choose_suites, scores

        programs: list[Any] = []
        cells: list[tuple[str, str]] = []  # (member, suite) of each program
        groups = []
        for _, group in items:
            parts = {sample.id: runnable(ctx, sample) for _, sample, _ in group}
            passing = [
                (sample.data.get("sample_index", 0), sample.id)
                for _, sample, outcome in group
                if outcome is not None and outcome.status is Status.PASSED and parts[sample.id] is not None
            ]
            suites = choose_suites(passing, self.tests)
            matrix: dict[tuple[str, str], bool | None] = {}
            start = len(programs)
            for _, sample, outcome in group:
                own = parts[sample.id]
                if own is None or outcome is None:
                    continue
                for suite in suites:
                    if suite == sample.id:  # its own tests: its own execution says
                        matrix[(sample.id, suite)] = outcome.status is Status.PASSED
                        continue
                    other = parts[suite]
                    if other.language != own.language:
                        continue
                    cells.append((sample.id, suite))
                    programs.append(own.model_copy(update={"id": f"{sample.id}@{suite}", "tests": other.tests, "checks": ()}))
            groups.append((group, suites, matrix, start, len(programs)))
        outcomes = ctx.sandbox.run_all(programs) if programs else []
        hits = sum(o.cached for o in outcomes)
        rows = []
        scored = 0
        for group, suites, matrix, start, stop in groups:
            for cell, outcome in zip(cells[start:stop], outcomes[start:stop], strict=True):
                matrix[cell] = None if outcome.status is Status.SANDBOX_ERROR else outcome.passed
            results = scores([s.id for _, s, _ in group], suites, matrix)
            for instruction, sample, _ in group:
                result = results.get(sample.id)
                scored += result is not None
                row: dict[str, Any] = {"kind": self.produces[0], "sample": sample.id, "instruction": instruction.id}
                row.update(result.model_dump(mode="json") if result is not None else {"suites": [], "passed": []})
                rows.append(row)
        marker = {"in": len(rows), "out": scored, "rejected": {}, "programs": len(programs), "hits": hits}
        return ShardOutput(rows, [], marker, hits=len(items) if hits == len(programs) else 0)


def feedback_steps(method: Any, config: Any) -> tuple[list[Step], list[Step]]:
    """The feedback steps a run config asks for: (those before execution, those after it)."""
    from codealign.pipeline.repair import RepairStep

    before: list[Step] = []
    rounds = config.repair_rounds()
    if rounds:
        before.append(RepairStep(method.repair_stage(), rounds))
    checks = config.effective_checks()
    after: list[Step] = []
    if checks.coverage or checks.mutants:
        after.append(AdequacyStep(checks.coverage, checks.mutants, checks.mutant_timeout))
    if checks.cross_check:
        after.append(CrossCheckStep(checks.cross_tests))
    return before, after
