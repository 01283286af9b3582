"""DPO preference pairs made from the same execution results as selection; each pair says why it was formed.

  failing    chosen: the kept response; rejected: a response of the same task that fails its own tests
  consensus  chosen: the kept response, when it passes its own tests and at least half of the other samples'
             tests; rejected: a response of the same task that fails tests the chosen one passes, preferably one
             that passes the tests it wrote (a self-consistent wrong answer), then the one failing the most
  auto       consensus where the samples were cross-checked and such a pair exists, else failing

Memory is O(instructions): a few candidates per instruction are kept while samples stream past.
"""

from __future__ import annotations

from typing import Any, Literal

from codealign.records import Record
from codealign.sandbox.types import Outcome, Status
from codealign.select.consensus import CrossResult
from codealign.select.items import FAILING, Item, squash

PairsMode = Literal["auto", "failing", "consensus", "off"]
_KEEP = 3  # consensus candidates kept per instruction


def _row(instruction: Record, chosen: Record, rejected: Record, rule: str, reason: str, **why: Any) -> dict[str, Any]:
    return {
        "prompt": instruction.data["instruction"],
        "chosen": chosen.data["solution"],
        "rejected": rejected.data["solution"],
        "instruction_id": instruction.id,
        "chosen_id": chosen.id,
        "rejected_id": rejected.id,
        "rule": rule,
        "reason": reason,
        **why,
    }


def _keep_best(best: dict[str, list[tuple[Any, ...]]], instruction_id: str, entry: tuple[Any, ...], keep: int) -> None:
    """Keep, per instruction, the `keep` entries with the lowest keys (entry[0]) among distinct solutions (entry[1]):
    a solution seen again stays only with its better key."""
    key, squashed = entry[0], entry[1]
    current = best.get(instruction_id, [])
    same = [c for c in current if c[1] == squashed]
    if same and same[0][0] <= key:
        return
    others = [c for c in current if c[1] != squashed]
    best[instruction_id] = sorted([*others, entry], key=lambda c: c[0])[:keep]


class FailingPairs:
    """Per instruction, the best DPO "rejected" candidates, one per distinct solution, at most two.

    Two, so that one remains when the other has the same solution as the kept response.
    """

    def __init__(self) -> None:
        self.best: dict[str, list[tuple[tuple[Any, ...], str, Record, Outcome]]] = {}

    def add(self, instruction: Record, sample: Record, outcome: Outcome) -> None:
        # A plain failure before a timeout/crash, then the lowest sample index, then the id: deterministic.
        key = (outcome.status is not Status.FAILED, sample.data.get("sample_index", 0), sample.id)
        _keep_best(self.best, instruction.id, (key, squash(sample.data["solution"]), sample, outcome), 2)

    def pair(self, instruction: Record, chosen: Record) -> dict[str, Any] | None:
        chosen_key = squash(chosen.data["solution"])
        candidates = [c for c in self.best.get(instruction.id, []) if c[1] != chosen_key]
        if not candidates:
            return None
        _, _, rejected, outcome = candidates[0]
        what = outcome.status.value + (f" ({outcome.error_type})" if outcome.error_type else "")
        return _row(instruction, chosen, rejected, "failing", f"rejected fails its own tests: {what}",
                    rejected_status=outcome.status.value)  # fmt: skip


class ConsensusPairs:
    """Per instruction, the samples that fail the most suites (candidates for "rejected"), at most three."""

    def __init__(self, min_agreement: float = 0.5) -> None:
        self.min_agreement = min_agreement
        self.best: dict[str, list[tuple[tuple[Any, ...], str, Record, CrossResult, str]]] = {}

    def add(self, instruction: Record, sample: Record, outcome: Outcome | None, cross: CrossResult | None) -> None:
        if cross is None or not cross.fails():
            return
        status = outcome.status.value if outcome is not None else "not_run"
        # A response that passes the tests it wrote and fails the others' is the harder, more telling negative.
        key = (status != "passed", -len(cross.fails()), sample.data.get("sample_index", 0), sample.id)
        _keep_best(self.best, instruction.id, (key, squash(sample.data["solution"]), sample, cross, status), _KEEP)

    def pair(self, instruction: Record, chosen: Record, cross: CrossResult | None) -> dict[str, Any] | None:
        if cross is None or cross.agreement is None or cross.agreement < self.min_agreement:
            return None
        passes = cross.passes()
        chosen_key = squash(chosen.data["solution"])
        for _, squashed, rejected, result, status in self.best.get(instruction.id, []):
            failed = result.fails() & passes
            if squashed == chosen_key or not failed:
                continue
            others = len(cross.suites) - (chosen.id in cross.suites)
            reason = (
                f"chosen passes its own tests and {cross.agreement:.0%} of {others} other samples' tests; "
                f"rejected fails {len(failed)} of the {len(passes)} test suites the chosen passes"
                + (" though it passes its own" if status == "passed" else f" ({status} on its own)")
            )
            return _row(instruction, chosen, rejected, "consensus", reason, rejected_status=status,
                        chosen_agreement=cross.agreement, rejected_fails=sorted(failed))  # fmt: skip
        return None


class Pairs:
    """Both kinds, collected as samples stream past; `rows(kept)` pairs each kept response per `mode`."""

    def __init__(self, mode: PairsMode) -> None:
        self.mode = mode
        self.failing = FailingPairs()
        self.consensus = ConsensusPairs()

    def add(self, instruction: Record, sample: Record, outcome: Outcome | None, cross: CrossResult | None) -> None:
        if self.mode == "off":
            return
        if self.mode != "consensus" and outcome is not None and outcome.status in FAILING:
            self.failing.add(instruction, sample, outcome)
        if self.mode != "failing":
            self.consensus.add(instruction, sample, outcome, cross)

    def rows(self, kept: list[Item], cross_of: dict[str, CrossResult | None]) -> list[dict[str, Any]]:
        out = []
        for instruction, chosen, _ in kept:
            row = None
            if self.mode in ("auto", "consensus"):
                row = self.consensus.pair(instruction, chosen, cross_of.get(chosen.id))
            if row is None and self.mode in ("auto", "failing"):
                row = self.failing.pair(instruction, chosen)
            if row is not None:
                out.append(row)
        return out

