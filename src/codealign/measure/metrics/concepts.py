"""Concept coverage and entropy, where records carry the coding concepts they were made from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from codealign.measure.base import Context, Metric, MetricResult, entropy_bits
from codealign.measure.data import Item


class Concepts(Metric):
    name = "concepts"
    group = "diversity"
    version = 1
    description = (
        "coverage = number of distinct concepts (lower-cased, stripped), their Shannon entropy in bits, the "
        "effective number of concepts (2^entropy) and concepts per record"
    )
    directions: ClassVar[dict[str, str]] = {
        "distinct_concepts": "higher",
        "concept_entropy": "higher",
        "effective_concepts": "higher",
        "concepts_per_record": "higher",
    }
    headline = ("distinct_concepts", "concept_entropy")
    needs = ("concepts",)

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        counts: Counter = Counter()
        with_concepts = 0
        for it in items:
            if it.concepts:
                with_concepts += 1
                counts.update(it.concepts)
        res = self.result()
        h = entropy_bits(list(counts.values()))
        res.values.update(
            distinct_concepts=len(counts),
            concept_entropy=h,
            effective_concepts=2**h if counts else 0.0,
            concepts_per_record=sum(counts.values()) / with_concepts if with_concepts else None,
            records_with_concepts=with_concepts,
        )
        res.counts["concepts"] = dict(counts.most_common(30))
        return res
