"""The pipeline runner: the run's steps (seeds, the method's LLM stages, execution) in order, each in shards.

Every step streams its input, the records of the kind it consumes from whichever earlier step produced that kind,
in shards of `shard_size` items. A shard that already has its completion marker is skipped; any other shard is
computed again, which costs nothing for the LLM calls and executions it had finished, because those come from the
shared cache. The item at position i of a step's input always gets index i, so prompts (and their cache keys) are
the same on every run. What each step does is in `codealign.pipeline.steps`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from codealign.errors import ConfigError
from codealign.pipeline.config import RunConfig
from codealign.pipeline.progress import StageProgress, StageStats
from codealign.pipeline.steps import EXECUTE, SEEDS, Plan, Step, build_steps, lineage
from codealign.records import Record
from codealign.runs import RunDir
from codealign.synth.base import GENERATOR

T = TypeVar("T")
__all__ = ["EXECUTE", "SEEDS", "Runner", "chunks", "lineage"]


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Batches of `size`; an empty input still gives one empty batch, so every stage leaves a finished shard."""
    it = iter(items)
    batch = list(islice(it, size))
    yield batch
    while batch := list(islice(it, size)):
        yield batch


class Runner:
    """Runs the steps of one RunConfig into its run directory; `progress` is a rich Progress or None."""

    def __init__(self, config: RunConfig, cache: Any, progress: Any = None) -> None:
        self.config = config
        self.cache = cache
        self.progress = progress
        self.rd = RunDir(config.run_dir)
        self.method = config.build_method()
        self.steps: list[Step] = build_steps(self.method, config)
        self.plan = Plan()
        self.stats: dict[str, StageStats] = {}
        self.usage: dict[str, dict[str, Any]] = {}
        self._backends: dict[str, Any] = {}
        self._sandbox: Any = None
        self._executor: Any = None
        self._redone = False  # an earlier step made a finished shard again: later steps remake theirs

    # -- resources, opened only when a shard needs them ----------------------------------------------------------

    @property
    def executor(self) -> Any:
        """None on this machine; with `executor: ray`, the cluster the backends and the sandbox run on."""
        if self._executor is None and self.config.executor == "ray":
            from codealign.scale.executor import RayExecutor

            self._executor = RayExecutor(self.config.ray)
        return self._executor

    def backend_for(self, role: str) -> Any:
        """The backend of a role: `generator` is the config's `backend` block, `teacher` its `teacher` block."""
        if role not in self._backends:
            from codealign.scale.executor import open_backend

            self._backends[role] = open_backend(self.config.backend_config(role), self.cache, self.executor)
        return self._backends[role]

    @property
    def backend(self) -> Any:
        return self.backend_for(GENERATOR)

    @property
    def limits(self) -> Any:
        """The sandbox limits of every program the run executes."""
        from codealign.sandbox.types import Limits

        return Limits(timeout=self.config.execution.timeout, memory_mb=self.config.execution.memory_mb)

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            if self.executor is not None:
                from codealign.scale.sandbox import ClusterSandbox

                self._sandbox = ClusterSandbox(self.executor, workers=self.config.execution.workers, cache=self.cache,
                                               retry_timeouts=self.config.execution.retry_timeouts)  # fmt: skip
            else:
                from codealign.sandbox import Sandbox

                self._sandbox = Sandbox(workers=self.config.execution.workers, cache=self.cache,
                                        retry_timeouts=self.config.execution.retry_timeouts)  # fmt: skip
            self._sandbox.start()
        return self._sandbox

    def preload(self) -> None:
        """Load every backend the method uses now (a model's weights, a server's check), before any file is written."""
        for role in getattr(self.method, "roles", (GENERATOR,)):
            backend = self.backend_for(role)
            load = getattr(backend, "ensure_loaded", None)
            if load is not None:
                load()

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        for backend in self._backends.values():
            backend.close()
        if self._executor is not None:
            self._executor.close()

    def execution_usage(self) -> dict[str, int]:
        """Programs this invocation ran, took from the cache, and ran again because their cached outcome was a
        timeout (empty when it executed nothing, e.g. every execution shard was finished)."""
        if self._sandbox is None:
            return {}
        stats = self._sandbox.stats
        return {"run": stats.get("executed", 0), "from_cache": stats.get("cached", 0),
                "timeouts_run_again": stats.get("timeouts_retried", 0)}  # fmt: skip

    def executor_usage(self) -> dict[str, Any]:
        return self._executor.describe() if self._executor is not None else {"type": "local"}

    def backend_usage(self, role: str = GENERATOR) -> dict[str, Any]:
        backend = self._backends.get(role)
        return backend.usage.as_dict() if backend is not None else {}

    def read(self, kind: str) -> Iterator[Record]:
        """Every record of `kind` made so far in this run (by the step that last produced it)."""
        source = self.plan.source(kind)
        return self.rd.iter_records(source, kind=kind) if source is not None else iter(())

    # -- steps -------------------------------------------------------------------------------------------------

    def run_stages(self) -> Plan:
        """Every step up to execution; returns the plan (stage names in order, and the stage that made each kind)."""
        for step in self.steps:
            self._run(step)
        return self.plan

    def _begin(self, name: str, total: int | None) -> tuple[StageStats, StageProgress]:
        stats = self.stats[name] = StageStats(name)
        return stats, StageProgress(self.progress, name, total)

    def _total(self, stage: str, kind: str) -> int:
        return sum(m.get("kinds", {}).get(kind, m.get("out", 0)) for m in self.rd.markers(stage))

    def _run(self, step: Step) -> None:
        source = None
        if step.consumes is not None:
            source = self.plan.source(step.consumes)
            if source is None:
                raise ConfigError(f"stage {step.name!r} reads {step.consumes!r} records, which no earlier stage makes")
        stats, bar = self._begin(step.name, None if source is None else step.total(self, source))
        redone_here = False
        step.start(self)
        usage: Counter = Counter()
        size = self.config.shard_size
        options = step.options()
        for shard, items in enumerate(chunks(step.inputs(self, source), size)):
            # A shard made with other options (a feedback step switched to more mutants, say) is made again, and so
            # is one the step asks to redo (cached timeouts run again); every later step then redoes its shards too,
            # since what they read changed.
            done = self.rd.is_done(step.name, shard)
            marker = self.rd.marker(step.name, shard) if done else {}
            if done and not self._redone and marker.get("options", {}) == options and not step.redo(marker, self):
                stats.resumed_shards += 1
                hits = step.resumed_hits(items)
            else:
                if done:
                    redone_here = True
                started = time.perf_counter()
                out = step.run_shard(shard, [(shard * size + k, item) for k, item in enumerate(items)], self)
                if options:
                    out.marker["options"] = options
                self.rd.write_shard(step.name, shard, out.records, out.rejects, out.marker)
                hits = out.hits
                stats.seconds += time.perf_counter() - started
            marker = self.rd.marker(step.name, shard)
            stats.add_marker(marker)
            usage.update(marker.get("usage", {}))
            if step.sequential:
                step.observe(list(self.rd.iter_shard(step.name, shard)))
            bar.advance(len(items), hits)
        if step.uses_backend:
            self.usage[step.name] = dict(usage)
        self._redone = self._redone or redone_here
        bar.finish()
        self.plan.names.append(step.name)
        for kind in step.produces:
            self.plan.producers[kind] = step.name
