"""Vendi score of instructions and code under a hashed n-gram cosine kernel: the effective number of distinct items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from codealign.measure.base import ChunkMetric, Context, MetricResult
from codealign.measure.data import Item
from codealign.measure.text import chunk_tokens
from codealign.measure.vendi import dense, features_from_tokens, vendi_from_gram

FIELDS = ("instruction", "code")


class Vendi(ChunkMetric):
    name = "vendi"
    group = "diversity"
    version = 1
    description = (
        "Vendi score (exp of the entropy of the kernel's eigenvalues) with a cosine kernel on signed-hashed token "
        "3-gram counts (2048 features), via the feature-side Gram; vendi_ratio = vendi / n. At most min(n, dim): "
        "compare datasets on the .sample figure (a seeded fixed-size sample)."
    )
    directions: ClassVar[dict[str, str]] = {f"{f}.{k}": "higher" for f in FIELDS for k in ("vendi", "vendi_ratio", "vendi.sample")}
    headline = ("code.vendi.sample", "instruction.vendi.sample", "code.vendi_ratio")
    options = ("ngram", "dim")
    ngram: int = 3
    dim: int = 2048

    def begin(self, ctx: Context) -> None:
        self._grams = {f: np.zeros((self.dim, self.dim), dtype=np.float64) for f in FIELDS}
        self._sample: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {f: [] for f in FIELDS}
        self._offset = 0

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> dict[str, Any]:
        picked = ctx.in_sample(start, start + len(chunk))
        out: dict[str, Any] = {}
        for f in FIELDS:
            r, c, v = features_from_tokens(*chunk_tokens(chunk, f, ctx.memo), self.ngram, self.dim)
            x = dense(r, c, v, len(chunk), self.dim)
            in_sample = np.isin(r, picked)
            out[f] = (x.T @ x, (r[in_sample] + start, c[in_sample], v[in_sample]))
        return out

    def add(self, start: int, partial: dict[str, Any]) -> None:
        for f, (gram, sampled) in partial.items():
            self._grams[f] += gram
            self._sample[f].append(sampled)

    def finish(self, ctx: Context) -> MetricResult:
        res = self.result()
        for f in FIELDS:
            parts = self._sample[f]
            r = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
            c = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
            v = np.concatenate([p[2] for p in parts]) if parts else np.empty(0)
            m = len(ctx.sample)
            xs = dense(np.searchsorted(ctx.sample, r), c, v, m, self.dim).astype(np.float64)
            sampled = vendi_from_gram(xs @ xs.T, m) if m else None
            # When the sample is the whole dataset the item-side Gram is the smaller one: same value, less work.
            score = sampled if m == ctx.n and sampled is not None else vendi_from_gram(self._grams[f], ctx.n)
            res.values[f"{f}.vendi"] = score
            res.values[f"{f}.vendi_ratio"] = score / ctx.n
            res.values[f"{f}.vendi.sample"] = sampled
        res.values["sample_size"] = len(ctx.sample)
        self._grams = {}
        return res
