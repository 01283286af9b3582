"""Samples of one instruction checked against each other's tests, CodeT-style.

For an instruction, the *suites* are the tests of up to T of its passing samples (in sample order). Every sample's
code runs against every suite (its own suite's result is its own execution). Per sample:

  agreement   the share of the other samples' suites it passes (None when there are none)
  consensus   CodeT's dual agreement: (samples that pass exactly the same suites) x (suites they pass); a
              response agreed on by many samples and checked by many tests scores high

Selection with `choose: consensus` keeps, per instruction, the passing response with the highest consensus (then
agreement, then the seeded shuffle), instead of the first passing one of the shuffle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict


class CrossResult(BaseModel):
    """One sample's results on its instruction's suites (None: not run, a sandbox error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suites: tuple[str, ...] = ()  # the sample ids whose tests form the suites
    passed: tuple[bool | None, ...] = ()
    agreement: float | None = None
    consensus: int | None = None

    def passes(self) -> frozenset[str]:
        return frozenset(s for s, ok in zip(self.suites, self.passed, strict=True) if ok)

    def fails(self) -> frozenset[str]:
        return frozenset(s for s, ok in zip(self.suites, self.passed, strict=True) if ok is False)

    def fails_others(self, own: str) -> bool:
        """Whether it fails at least one suite written by another sample."""
        return any(s != own for s in self.fails())


def choose_suites(passing: Sequence[tuple[int, str]], limit: int) -> list[str]:
    """The suites of an instruction: the tests of its first `limit` passing samples, by (sample index, id)."""
    return [sample_id for _, sample_id in sorted(passing)[:limit]]


def scores(members: Sequence[str], suites: Sequence[str], matrix: dict[tuple[str, str], bool | None]) -> dict[str, CrossResult]:
    """Each member's CrossResult from `matrix[(member, suite)]` (absent: the member could not run)."""
    rows: dict[str, tuple[bool | None, ...]] = {}
    for member in members:
        if not any((member, s) in matrix for s in suites):
            continue
        rows[member] = tuple(matrix.get((member, s)) for s in suites)
    pass_sets = {m: frozenset(s for s, ok in zip(suites, row, strict=True) if ok) for m, row in rows.items()}
    groups = Counter(pass_sets.values())
    out: dict[str, CrossResult] = {}
    for member, row in rows.items():
        others = [ok for s, ok in zip(suites, row, strict=True) if s != member and ok is not None]
        agreement = sum(others) / len(others) if others else None
        passed = pass_sets[member]
        out[member] = CrossResult(
            suites=tuple(suites), passed=row, agreement=agreement, consensus=groups[passed] * len(passed)
        )
    return out


def preference(result: CrossResult | None) -> tuple[float, float]:
    """Sort key (higher first) of a passing sample under `choose: consensus`."""
    if result is None or result.consensus is None:
        return (-1.0, -1.0)
    return (float(result.consensus), result.agreement if result.agreement is not None else -1.0)


class ConsensusTally:
    """What the funnel says about consensus: how often the kept response fails the others' tests, under the
    random choice and under the choice made."""

    def __init__(self) -> None:
        self.instructions = 0  # instructions with a kept response and at least one other suite
        self.random_fails = 0
        self.kept_fails = 0
        self.changed = 0

    def add(self, random_pick: tuple[str, CrossResult | None], kept: tuple[str, CrossResult | None]) -> None:
        random_id, random_result = random_pick
        kept_id, kept_result = kept
        if random_result is None or random_result.agreement is None:
            return
        self.instructions += 1
        self.random_fails += random_result.fails_others(random_id)
        self.kept_fails += bool(kept_result is not None and kept_result.fails_others(kept_id))
        self.changed += kept_id != random_id

    def as_dict(self, mode: str) -> dict[str, Any]:
        return {
            "choose": mode,
            "instructions": self.instructions,
            "random_choice_fails_others": self.random_fails,
            "kept_fails_others": self.kept_fails,
            "choice_changed": self.changed,
        }
