"""The metric family. A new metric is one file with one subclass and one registry line.

Three shapes, from simplest to most scalable:
- `ItemMetric.item(item) -> {key: number}`: per-record values; the base aggregates them (mean, quantiles, histogram).
- `ChunkMetric.partial(chunk) -> P` runs in worker processes over fixed-size chunks; `add(P)` and `finish()` reduce.
- `Metric.compute(items, ctx) -> MetricResult`: a dataset-level figure computed in the main process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from codealign.measure.data import Item

Group = Literal["quality", "diversity", "complexity"]
CHUNK = 2048  # records per chunk: fixed, so chunked figures do not depend on the number of workers
QUANTILES = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)


@dataclass
class Context:
    """What every metric may consult: dataset size, the fixed-size sample, options, and shared resources."""

    n: int
    sample: np.ndarray  # sorted indices of the seeded fixed-size sample
    sample_size: int
    seed: int = 0
    workers: int = 1
    cache: Any = None
    fields: dict[str, str | None] = field(default_factory=dict)
    # progress(label, total) -> advance(k): how long metrics report progress; the CLI plugs a rich bar in.
    progress: Callable[[str, int], Callable[[int], None]] = field(default=lambda label, total: lambda k: None)
    # Per-chunk scratch space shared by the metrics working on the same chunk (e.g. token hashes); reset per chunk.
    memo: dict[Any, Any] | None = None

    def in_sample(self, start: int, stop: int) -> np.ndarray:
        """Offsets, relative to `start`, of the sampled items in [start, stop)."""
        lo, hi = np.searchsorted(self.sample, [start, stop])
        return self.sample[lo:hi] - start


@dataclass
class MetricResult:
    """A metric's figures. `values` are scalars (what compare and the summary read); `distributions` hold per-item
    value summaries (quantiles + histogram) and `counts` categorical tallies, for plots."""

    name: str
    group: str
    version: int
    description: str
    values: dict[str, float | int | None] = field(default_factory=dict)
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    headline: tuple[str, ...] = ()
    per_item: dict[str, list[float | None]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "version": self.version,
            "description": self.description,
            "values": self.values,
            "directions": self.directions,
            "headline": list(self.headline),
            "distributions": self.distributions,
            "counts": self.counts,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def distribution(values: Sequence[float] | np.ndarray, bins: int = 20) -> dict[str, Any]:
    """Quantiles and a histogram of the finite values (integers get one bin per value when there are few)."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"count": 0}
    lo, hi = float(arr.min()), float(arr.max())
    # A long tail would squeeze the bulk into one bar: bin up to the 99th percentile and pile the rest in the last bar.
    top = float(np.quantile(arr, 0.99))
    clipped = top < hi and arr.size >= 200
    shown = np.minimum(arr, top) if clipped else arr
    end = top if clipped else hi
    integral = bool(np.all(arr == np.round(arr)))
    if integral and end - lo < bins:
        edges = np.arange(lo - 0.5, end + 1.5)
    else:
        edges = np.linspace(lo, end if end > lo else lo + 1.0, bins + 1)
    counts, edges = np.histogram(shown, bins=edges)
    hist: dict[str, Any] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    if clipped:
        hist["last_bar_from"] = float(edges[-2])
    return {
        "count": int(arr.size),
        "mean": float(arr.mean()),
        "std": float(arr.std()),
        "quantiles": {str(q): float(np.quantile(arr, q)) for q in QUANTILES},
        "hist": hist,
    }


def entropy_bits(counts: Sequence[int] | np.ndarray) -> float:
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def finite_or_none(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


class Metric:
    """A dataset-level metric. Subclasses set the class attributes and implement `compute`."""

    name: ClassVar[str] = ""
    group: ClassVar[Group] = "quality"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    # key -> "higher" or "lower": which way is better (quality), more diverse (diversity) or more complex.
    directions: ClassVar[dict[str, str]] = {}
    # Keys shown in summaries and compared side by side; the first is the metric's headline.
    headline: ClassVar[tuple[str, ...]] = ()
    # Fields the metric needs; it is skipped with a note when the dataset has none of them.
    needs: ClassVar[tuple[str, ...]] = ()
    default: ClassVar[bool] = True  # False: only when asked for (needs a model, a server or an extra)

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(self.option_names())
        if unknown:
            from codealign.errors import ConfigError

            raise ConfigError(
                f"metric {self.name!r} has no option {sorted(unknown)[0]!r}; options: {', '.join(self.option_names()) or 'none'}"
            )
        for key, value in options.items():
            setattr(self, key, value)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(getattr(cls, "options", ()))

    def result(self, **kwargs: Any) -> MetricResult:
        return MetricResult(
            name=self.name,
            group=self.group,
            version=self.version,
            description=self.description,
            directions=dict(self.directions),
            headline=tuple(self.headline),
            **kwargs,
        )

    def check(self) -> None:
        """Raise MissingDependency or ConfigError before any work starts (optional metrics override this)."""

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        raise NotImplementedError


class ChunkMetric(Metric):
    """Map-reduce over fixed-size chunks: `partial` runs in workers, `add` and `finish` in the main process."""

    def begin(self, ctx: Context) -> None:
        self._partials: list[Any] = []

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> Any:
        raise NotImplementedError

    def add(self, start: int, partial: Any) -> None:
        self._partials.append((start, partial))

    def finish(self, ctx: Context) -> MetricResult:
        raise NotImplementedError

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        self.begin(ctx)
        for start in range(0, len(items), CHUNK):
            ctx.memo = {}
            self.add(start, self.partial(items[start : start + CHUNK], start, ctx))
        ctx.memo = None
        return self.finish(ctx)


class ItemMetric(ChunkMetric):
    """Per-record values; aggregated by the base into means, quantiles and histograms. None = not applicable."""

    # Keys that are rates (0/1 per item): reported as a share, without a histogram.
    rates: ClassVar[tuple[str, ...]] = ()

    def item(self, item: Item) -> dict[str, float | None]:
        raise NotImplementedError

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> list[dict[str, float | None]]:
        self.ctx = ctx
        return [self.item(it) for it in chunk]

    def finish(self, ctx: Context) -> MetricResult:
        rows: list[dict[str, float | None]] = []
        for _, part in sorted(self._partials, key=lambda p: p[0]):
            rows.extend(part)
        self._partials = []
        keys: list[str] = []
        for row in rows:
            keys.extend(k for k in row if k not in keys)
        res = self.result()
        for key in keys:
            column = [row.get(key) for row in rows]
            res.per_item[key] = column
            present = [float(v) for v in column if v is not None]
            res.values[key] = float(np.mean(present)) if present else None
            if key not in self.rates and present:
                dist = distribution(present)
                res.distributions[key] = dist
                res.values[f"{key}.median"] = dist["quantiles"]["0.5"]
        return res
