"""Compression ratio: raw bytes / zlib-compressed bytes of the records joined in order. Higher means more redundant."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from codealign.measure.base import ChunkMetric, Context, MetricResult
from codealign.measure.data import Item

FIELDS = ("instruction", "code")
LEVEL = 6


def compressed_sizes(texts: Sequence[str]) -> tuple[int, int]:
    """(raw bytes, zlib bytes) of the texts joined with newlines."""
    raw = "\n".join(texts).encode("utf-8", "surrogatepass")
    return len(raw), len(zlib.compress(raw, LEVEL))


def compression_ratio(texts: Sequence[str]) -> float | None:
    raw, packed = compressed_sizes(texts)
    return raw / packed if raw else None


class Compression(ChunkMetric):
    name = "compression"
    group = "diversity"
    version = 1
    description = (
        "raw bytes / zlib (level 6) bytes of the records joined by newlines, in blocks of 2048 records; higher = "
        "more repetition. Depends on size and order, so .sample gives it on a seeded fixed-size sample"
    )
    directions: ClassVar[dict[str, str]] = {
        f"{f}.compression_ratio{s}": "lower" for f in FIELDS for s in ("", ".sample")
    }
    headline = ("instruction.compression_ratio.sample", "code.compression_ratio.sample")

    def begin(self, ctx: Context) -> None:
        self._sizes = {f: [0, 0] for f in FIELDS}
        self._sampled: dict[str, list[tuple[int, list[str]]]] = {f: [] for f in FIELDS}

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> dict[str, Any]:
        picked = ctx.in_sample(start, start + len(chunk))
        out = {}
        for f in FIELDS:
            texts = [getattr(it, f) for it in chunk]
            out[f] = (compressed_sizes(texts), [texts[i] for i in picked])
        return out

    def add(self, start: int, partial: dict[str, Any]) -> None:
        for f, ((raw, packed), sampled) in partial.items():
            self._sizes[f][0] += raw
            self._sizes[f][1] += packed
            self._sampled[f].append((start, sampled))

    def finish(self, ctx: Context) -> MetricResult:
        res = self.result()
        for f in FIELDS:
            raw, packed = self._sizes[f]
            res.values[f"{f}.compression_ratio"] = raw / packed if raw else None
            texts = [t for _, part in sorted(self._sampled[f], key=lambda p: p[0]) for t in part]
            res.values[f"{f}.compression_ratio.sample"] = compression_ratio(texts)
        res.values["sample_size"] = len(ctx.sample)
        return res
