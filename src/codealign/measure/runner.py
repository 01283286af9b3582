"""Run a set of metrics over a dataset: chunk metrics in worker processes (one pass, each tree parsed once per chunk),
then dataset-level metrics in this process. Returns a `Measurement` that writes `metrics.json`."""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from codealign import __version__
from codealign.config import StrictModel
from codealign.errors import ConfigError
from codealign.measure.base import CHUNK, ChunkMetric, Context, Metric, MetricResult
from codealign.measure.data import Dataset, FieldMap
from codealign.records import AtomicWriter, write_jsonl

FORMAT = "codealign.measure/1"
GROUPS = ("quality", "diversity", "complexity")


class MeasureConfig(StrictModel):
    """What to measure and how; the CLI flags of `codealign measure` are views of these fields."""

    metrics: list[str] = Field(["default"], description="metric names; 'default' = every metric that needs no model")
    skip: list[str] = Field([], description="metric names to leave out")
    options: dict[str, dict[str, Any]] = Field({}, description="per-metric options, e.g. {vendi: {dim: 4096}}")
    fields: FieldMap = FieldMap()
    sample_size: int = Field(1000, ge=2, description="records in the fixed-size sample for size-dependent figures")
    seed: int = 0
    workers: int | None = Field(None, ge=1, description="processes; default: all cores")
    limit: int | None = Field(None, ge=1, description="measure only the first N records")


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return _ignore


def _ignore(k: int) -> None:
    return None


def select_metrics(config: MeasureConfig) -> list[Metric]:
    """Instances of the chosen metrics, in group order; unknown names and options are errors that list the choices."""
    from codealign.registry import METRICS

    names: list[str] = []
    for name in config.metrics:
        if name == "default":
            names.extend(n for n in METRICS.names() if METRICS.get(n).default)
        elif name == "all":
            names.extend(METRICS.names())
        else:
            names.append(METRICS.entry(name).name)
    for name in config.skip:
        METRICS.entry(name)
    unknown = set(config.options) - set(METRICS.names())
    if unknown:
        raise ConfigError(f"options for unknown metric {sorted(unknown)[0]!r}; known: {', '.join(METRICS.names())}")
    chosen = [n for n in dict.fromkeys(names) if n not in config.skip]
    metrics = [METRICS.get(n)(**config.options.get(n, {})) for n in chosen]
    for m in metrics:
        m.check()
    return sorted(metrics, key=lambda m: (GROUPS.index(m.group), m.name))


@dataclass
class Measurement:
    dataset: Dataset
    results: dict[str, MetricResult]
    skipped: dict[str, str]
    settings: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, dotted: str) -> Any:
        """`metric.key` -> the figure, e.g. value('vendi.code.vendi')."""
        name, _, key = dotted.partition(".")
        res = self.results.get(name)
        return None if res is None else res.values.get(key)

    def to_dict(self) -> dict[str, Any]:
        ds = self.dataset
        return {
            "format": FORMAT,
            "codealign_version": __version__,
            "dataset": {
                "name": ds.name,
                "path": ds.path,
                "records": len(ds.items),
                "fields": ds.fields,
                "bad_lines": [{"line": b.lineno, "reason": b.reason} for b in ds.bad_lines[:100]],
                "bad_line_count": len(ds.bad_lines),
            },
            "settings": self.settings,
            "seconds": round(self.seconds, 3),
            "metrics": {name: res.to_dict() for name, res in self.results.items()},
            "skipped": self.skipped,
        }

    def write(self, out_dir: str | os.PathLike, per_item: bool = False) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with AtomicWriter(out / "metrics.json") as fh:
            json.dump(self.to_dict(), fh, indent=1, default=float)
            fh.write("\n")
        if per_item:
            write_jsonl(out / "per_item.jsonl", self.per_item_rows())
        return out / "metrics.json"

    def per_item_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [{"index": i} for i in range(len(self.dataset.items))]
        for name, res in self.results.items():
            for key, column in res.per_item.items():
                for row, v in zip(rows, column, strict=True):
                    row[f"{name}.{key}"] = v
        return rows


# -- worker side ---------------------------------------------------------------------------------------------------

_STATE: tuple[list[ChunkMetric], Context] | None = None


def _init_worker(payload: bytes) -> None:
    global _STATE
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _STATE = pickle.loads(payload)


def _run_chunk(start: int, chunk: list[Any]) -> tuple[int, int, dict[str, Any], dict[str, float]]:
    assert _STATE is not None
    metrics, ctx = _STATE
    return (start, len(chunk), *_partials(metrics, chunk, start, ctx))


def _partials(metrics: Sequence[ChunkMetric], chunk: list[Any], start: int, ctx: Context) -> tuple[dict, dict]:
    out, seconds = {}, {}
    ctx.memo = {}
    for m in metrics:
        t = time.perf_counter()
        out[m.name] = m.partial(chunk, start, ctx)
        seconds[m.name] = time.perf_counter() - t
    ctx.memo = None
    return out, seconds


# -- main side -----------------------------------------------------------------------------------------------------


def _missing_fields(metric: Metric, ctx: Context) -> str | None:
    if metric.needs and all(ctx.fields.get(f) is None for f in metric.needs):
        wanted = " or ".join(metric.needs)
        return f"the dataset has no {wanted} field (name it with --field {metric.needs[0]}=PATH)"
    return None


def measure(
    dataset: Dataset,
    config: MeasureConfig | None = None,
    cache: Any = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    metrics: list[Metric] | None = None,
) -> Measurement:
    """Compute every chosen metric over `dataset`."""
    config = config or MeasureConfig()
    metrics = metrics if metrics is not None else select_metrics(config)
    t0 = time.perf_counter()
    n = len(dataset.items)
    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(n, size=min(n, config.sample_size), replace=False)).astype(np.int64)
    workers = config.workers or os.cpu_count() or 1
    ctx = Context(n=n, sample=sample, sample_size=config.sample_size, seed=config.seed, workers=workers,
                  cache=cache, fields=dict(dataset.fields), progress=progress or _no_progress)
    skipped: dict[str, str] = {}
    runnable = []
    for m in metrics:
        reason = _missing_fields(m, ctx)
        if reason:
            skipped[m.name] = reason
        else:
            runnable.append(m)
    chunked = [m for m in runnable if isinstance(m, ChunkMetric)]
    timings = dict.fromkeys((m.name for m in runnable), 0.0)
    if chunked:
        _chunk_pass(dataset, chunked, ctx, workers, timings)
    results: dict[str, MetricResult] = {}
    advance = ctx.progress("dataset-level figures", len(runnable))
    for m in runnable:
        t = time.perf_counter()
        res = m.finish(ctx) if isinstance(m, ChunkMetric) else m.compute(dataset.items, ctx)
        res.seconds = timings[m.name] + time.perf_counter() - t
        results[m.name] = res
        advance(1)
    settings = {
        "sample_size": config.sample_size,
        "seed": config.seed,
        "workers": workers,
        "metrics": {m.name: {"version": m.version, **{k: getattr(m, k) for k in m.option_names()}} for m in metrics},
    }
    ordered = {m.name: results[m.name] for m in runnable}
    return Measurement(dataset, ordered, skipped, settings, time.perf_counter() - t0)


def _chunk_pass(dataset: Dataset, metrics: list[ChunkMetric], ctx: Context, workers: int, timings: dict) -> None:
    items = dataset.items
    starts = list(range(0, len(items), CHUNK))
    advance = ctx.progress("per-record metrics", len(items))
    worker_ctx = Context(n=ctx.n, sample=ctx.sample, sample_size=ctx.sample_size, seed=ctx.seed, workers=1,
                         fields=ctx.fields, progress=_no_progress)
    payload = pickle.dumps((metrics, worker_ctx))
    for m in metrics:
        m.begin(ctx)
    by_name = {m.name: m for m in metrics}

    def absorb(start: int, count: int, partials: dict, seconds: dict) -> None:
        for name, part in partials.items():
            t = time.perf_counter()
            by_name[name].add(start, part)
            timings[name] += seconds[name] + time.perf_counter() - t
        advance(count)

    if workers <= 1 or len(starts) <= 1:
        for s in starts:
            chunk = items[s : s + CHUNK]
            absorb(s, len(chunk), *_partials(metrics, chunk, s, ctx))
            for it in chunk:
                it.forget_tree()  # the tree was for this pass; keeping 100k trees would cost gigabytes
        return
    import gc
    import multiprocessing as mp

    # Forked workers share the parent's records copy-on-write; frozen objects are not touched by the children's
    # garbage collector, so those pages stay shared instead of being copied into every worker.
    gc.freeze()
    from codealign.interrupts import process_pool

    with process_pool(workers, mp.get_context("fork"), _init_worker, (payload,)) as pool:
        pending: set[Future] = set()
        queue = iter(starts)
        for s in queue:
            pending.add(pool.submit(_run_chunk, s, items[s : s + CHUNK]))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    absorb(*f.result())
        for f in pending:
            absorb(*f.result())
    gc.unfreeze()

