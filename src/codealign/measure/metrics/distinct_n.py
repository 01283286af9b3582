"""distinct-n: the share of n-grams (n = 1..4) that are distinct, over instructions and over code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from codealign.measure.base import ChunkMetric, Context, MetricResult
from codealign.measure.data import Item
from codealign.measure.text import chunk_tokens, ngram_hashes, sorted_unique, token_hashes, tokenize

FIELDS = ("instruction", "code")
ORDERS = (1, 2, 3, 4)


class _Union:
    """A growing set of uint64 hashes kept as one sorted array; merges are batched so the cost stays O(N log N)."""

    def __init__(self) -> None:
        self.merged = np.empty(0, dtype=np.uint64)
        self.pending: list[np.ndarray] = []
        self.pending_size = 0

    def add(self, arr: np.ndarray) -> None:
        self.pending.append(arr)
        self.pending_size += len(arr)
        if self.pending_size > max(len(self.merged), 1 << 20):
            self.compact()

    def compact(self) -> None:
        if self.pending:
            self.merged = sorted_unique(np.concatenate([self.merged, *self.pending]))
            self.pending, self.pending_size = [], 0

    def __len__(self) -> int:
        self.compact()
        return len(self.merged)


def distinct_counts(texts: Sequence[str], orders: Sequence[int] = ORDERS) -> dict[int, tuple[np.ndarray, int]]:
    """For each n: the distinct n-gram hashes of the texts and the total number of n-grams."""
    hashes, doc_of = token_hashes([tokenize(t) for t in texts])
    out = {}
    for n in orders:
        grams, _ = ngram_hashes(hashes, doc_of, n)
        out[n] = (sorted_unique(grams), len(grams))
    return out


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Distinct n-grams / all n-grams over the texts (None when there are none)."""
    uniq, total = distinct_counts(texts, (n,))[n]
    return len(uniq) / total if total else None


class DistinctN(ChunkMetric):
    name = "distinct_n"
    group = "diversity"
    version = 1
    description = (
        "distinct n-grams / all n-grams (n = 1..4) of word-and-punctuation tokens, n-grams never crossing records; "
        "falls as a dataset grows, so .sample gives it on a seeded fixed-size sample"
    )
    directions: ClassVar[dict[str, str]] = {
        f"{f}.distinct_{n}{s}": "higher" for f in FIELDS for n in ORDERS for s in ("", ".sample")
    }
    headline = ("instruction.distinct_2.sample", "code.distinct_2.sample")

    def begin(self, ctx: Context) -> None:
        self._sets = {(f, n, s): _Union() for f in FIELDS for n in ORDERS for s in ("", ".sample")}
        self._totals = dict.fromkeys(self._sets, 0)

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> dict[tuple[str, int, str], Any]:
        picked = ctx.in_sample(start, start + len(chunk))
        out: dict[tuple[str, int, str], Any] = {}
        for f in FIELDS:
            _, hashes, doc_of = chunk_tokens(chunk, f, ctx.memo)
            in_sample = np.isin(doc_of, picked)
            for suffix, (h, d) in (("", (hashes, doc_of)), (".sample", (hashes[in_sample], doc_of[in_sample]))):
                for n in ORDERS:
                    grams, _ = ngram_hashes(h, d, n)
                    out[(f, n, suffix)] = (sorted_unique(grams), len(grams))
        return out

    def add(self, start: int, partial: dict[tuple[str, int, str], Any]) -> None:
        for key, (uniq, total) in partial.items():
            self._sets[key].add(uniq)
            self._totals[key] += total

    def finish(self, ctx: Context) -> MetricResult:
        res = self.result()
        for (f, n, suffix), union in self._sets.items():
            total = self._totals[(f, n, suffix)]
            res.values[f"{f}.distinct_{n}{suffix}"] = len(union) / total if total else None
        res.values["sample_size"] = len(ctx.sample)
        self._sets = {}
        return res
