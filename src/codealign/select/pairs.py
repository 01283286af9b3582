"""DPO preference pairs made from the same execution results as selection."""

from __future__ import annotations

from typing import Any

from codealign.records import Record
from codealign.sandbox.types import Outcome, Status
from codealign.select.items import Item, squash


class FailingPairs:
    """Per instruction, the best DPO "rejected" candidates, one per distinct solution, at most two.

    Two, so that one remains when the other has the same solution as the kept response. Memory is O(instructions).
    """

    def __init__(self) -> None:
        self.best: dict[str, list[tuple[tuple[Any, ...], str, Record, Outcome]]] = {}

    def add(self, instruction: Record, sample: Record, outcome: Outcome) -> None:
        # A plain failure before a timeout/crash, then the lowest sample index, then the id: deterministic.
        key = (outcome.status is not Status.FAILED, sample.data.get("sample_index", 0), sample.id)
        squashed = squash(sample.data["solution"])
        current = self.best.get(instruction.id, [])
        same = [c for c in current if c[1] == squashed]
        if same and same[0][0] <= key:
            return
        others = [c for c in current if c[1] != squashed]
        self.best[instruction.id] = sorted([*others, (key, squashed, sample, outcome)], key=lambda c: c[0])[:2]

    def pairs(self, kept: list[Item]) -> list[dict[str, Any]]:
        rows = []
        for instruction, chosen, _ in kept:
            chosen_key = squash(chosen.data["solution"])
            candidates = [c for c in self.best.get(instruction.id, []) if c[1] != chosen_key]
            if not candidates:
                continue
            _, _, rejected, outcome = candidates[0]
            rows.append(
                {
                    "prompt": instruction.data["instruction"],
                    "chosen": chosen.data["solution"],
                    "rejected": rejected.data["solution"],
                    "instruction_id": instruction.id,
                    "chosen_id": chosen.id,
                    "rejected_id": rejected.id,
                    "rejected_status": outcome.status.value,
                }
            )
        return rows
