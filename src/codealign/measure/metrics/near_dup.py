"""Near-duplicate rate: the share of records MinHash LSH (exact-Jaccard verified) would drop as near duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult
from codealign.measure.data import Item

FIELDS = ("instruction", "code")


class NearDup(Metric):
    name = "near_dup"
    group = "diversity"
    version = 1
    description = (
        "share of records that are near duplicates of an earlier one: MinHash LSH over 5-gram shingles, "
        "256 permutations, Jaccard >= 0.7 (codealign.curate.dedup), for instructions and for code"
    )
    directions: ClassVar[dict[str, str]] = {f"{f}.near_dup_rate": "lower" for f in FIELDS}
    headline = ("instruction.near_dup_rate", "code.near_dup_rate")
    options = ("threshold",)
    threshold: float = 0.7

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from codealign.curate.dedup import near_dedup_mask

        res = self.result()
        for f in FIELDS:
            keep = near_dedup_mask([getattr(it, f) for it in items], threshold=self.threshold)
            res.values[f"{f}.near_dup_rate"] = 1.0 - sum(keep) / len(keep) if keep else None
        return res
