"""Instruction size: words, sentences, and constraints (sentences or bullets that restrict the solution)."""

from __future__ import annotations

import re
from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*(?:[-*•]|\d+[.)])\s+|\n{2,}")
# Words that turn a sentence into a requirement the solution must meet.
_CONSTRAINT = re.compile(
    r"\b(must|should|shall|ensure|make sure|at (?:most|least)|no more than|without|only|exactly|do not|don't|never|"
    r"always|raise|handle|assume|constraint|complexity|o\([^)]*\)|time limit|within|between|non-negative|positive|"
    r"negative|sorted|unique|empty|edge case|efficient)\b",
    re.I,
)


def constraint_count(text: str) -> int:
    return sum(1 for s in _SENTENCE.split(text) if s.strip() and _CONSTRAINT.search(s))


class InstructionSize(ItemMetric):
    name = "instruction_size"
    group = "complexity"
    version = 1
    description = (
        "instruction length in words and sentences, and the number of constraints: sentences or list items "
        "carrying a requirement word (must, at most, without, raise, O(n), edge case, ...)"
    )
    directions: ClassVar[dict[str, str]] = {"words": "higher", "sentences": "higher", "constraints": "higher"}
    headline = ("words", "constraints")

    def item(self, item: Item) -> dict[str, float | None]:
        text = item.instruction
        return {
            "words": float(len(text.split())),
            "sentences": float(sum(1 for s in _SENTENCE.split(text) if s.strip())),
            "constraints": float(constraint_count(text)),
        }
