"""Difficulty and category distributions, where records carry them (SelfCodeAlign's C->I properties do)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult, entropy_bits
from codealign.measure.data import Item

_LEVELS = {"easy": 1, "medium": 2, "hard": 3}


class Attributes(Metric):
    name = "attributes"
    group = "complexity"
    version = 1
    description = (
        "distribution of the difficulty and category labels; mean difficulty on easy=1, medium=2, hard=3 "
        "(numeric labels as given); entropy of each distribution in bits"
    )
    directions: ClassVar[dict[str, str]] = {"mean_difficulty": "higher", "difficulty_entropy": "higher", "category_entropy": "higher"}
    headline = ("mean_difficulty",)
    needs = ("difficulty", "category")

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        res = self.result()
        for attr in ("difficulty", "category"):
            counts = Counter(getattr(it, attr).strip().lower() for it in items if getattr(it, attr))
            if counts:
                res.counts[attr] = dict(sorted(counts.items(), key=lambda kv: (_LEVELS.get(kv[0], 99), -kv[1])))
                res.values[f"{attr}_entropy"] = entropy_bits(list(counts.values()))
        levels = []
        for it in items:
            label = (it.difficulty or "").strip().lower()
            if label in _LEVELS:
                levels.append(_LEVELS[label])
            else:
                with contextlib.suppress(ValueError):
                    levels.append(float(label))
        res.values["mean_difficulty"] = sum(levels) / len(levels) if levels else None
        return res
