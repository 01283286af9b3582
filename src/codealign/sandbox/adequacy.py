"""How much a solution's own tests exercise it: line and branch coverage, and the share of mutants they kill.

Both are measured by running programs in the sandbox: the solution with its tests once more with coverage traced
(`Program.checks = ("coverage",)`), and each mutant of the solution (`codealign.sandbox.mutants`) with the same
tests. Every run is an ordinary sandbox run, cached like any other, so measuring again costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from codealign.sandbox.mutants import mutants
from codealign.sandbox.types import Coverage, Limits, Outcome, Program, Status


class MutationScore(BaseModel):
    """Mutants of the solution run against its tests: how many ran, how many the tests killed, which survived."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: int
    killed: int
    survived: tuple[str, ...] = ()  # what each surviving mutant changed ("line 3: < -> >=")

    @property
    def kill_rate(self) -> float | None:
        return self.killed / self.run if self.run else None


class Adequacy(BaseModel):
    """Coverage of a solution by its own tests, and their mutation score; a part not measured is None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coverage: Coverage | None = None
    mutation: MutationScore | None = None
    errors: int = Field(0, description="runs lost to sandbox errors (not counted either way)")


def measure(
    sandbox: Any,
    items: Iterable[tuple[str, str, str]],
    limits: Limits,
    coverage: bool = True,
    n_mutants: int = 0,
    mutant_timeout: float = 2.0,
    counts: dict[str, int] | None = None,
) -> Iterator[tuple[str, Adequacy]]:
    """For each (key, code, tests): its Adequacy, in input order. All programs of all items go to the sandbox together.

    `mutant_timeout` caps each mutant's run (a mutant that loops forever is killed by it, and costs no more).
    `counts`, when given, receives how many programs ran and how many of them came from the cache.
    """
    items = list(items)
    programs: list[Program] = []
    # Per item: the index of its coverage program (or None) and the mutants' (index, description).
    plan: list[tuple[int | None, list[tuple[int, str]]]] = []
    mutant_limits = limits.model_copy(update={"timeout": min(limits.timeout, mutant_timeout)})
    for key, code, tests in items:
        cov_index = None
        if coverage:
            cov_index = len(programs)
            programs.append(Program(id=f"{key}:coverage", code=code, tests=tests, limits=limits, checks=("coverage",)))
        runs = []
        for k, mutant in enumerate(mutants(code, n_mutants)):
            runs.append((len(programs), mutant.description))
            programs.append(Program(id=f"{key}:mutant{k}", code=mutant.code, tests=tests, limits=mutant_limits))
        plan.append((cov_index, runs))
    outcomes: list[Outcome] = sandbox.run_all(programs) if programs else []
    if counts is not None:
        counts.update(programs=len(programs), hits=sum(o.cached for o in outcomes))
    for (key, _, _), (cov_index, runs) in zip(items, plan, strict=True):
        errors = 0
        measured = None
        if cov_index is not None:
            outcome = outcomes[cov_index]
            if outcome.checks is not None and outcome.checks.coverage is not None:
                measured = outcome.checks.coverage
            elif outcome.status is Status.SANDBOX_ERROR:
                errors += 1
        score = None
        if n_mutants > 0:
            run = killed = 0
            survived = []
            for index, description in runs:
                status = outcomes[index].status
                if status is Status.SANDBOX_ERROR:
                    errors += 1
                    continue
                run += 1
                if status is Status.PASSED:
                    survived.append(description)
                else:
                    killed += 1
            score = MutationScore(run=run, killed=killed, survived=tuple(survived))
        yield key, Adequacy(coverage=measured, mutation=score, errors=errors)
