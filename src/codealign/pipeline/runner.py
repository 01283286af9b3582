"""The pipeline runner: seeds, then each LLM stage of the method, then execution, each in shards that resume.

Every stage streams its input (the previous stage's finished shards) in shards of `shard_size` records. A shard
that already has its completion marker is skipped; any other shard is computed again, which costs nothing for the
LLM calls and executions it had finished, because those come from the shared cache. The item at position i of a
stage's input always gets index i, so prompts (and their cache keys) are the same on every run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from codealign.errors import BackendError
from codealign.pipeline.config import RunConfig
from codealign.pipeline.progress import StageProgress, StageStats
from codealign.records import Record
from codealign.runs import RunDir

T = TypeVar("T")
SEEDS = "seeds"
EXECUTE = "execute"


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Batches of `size`; an empty input still gives one empty batch, so every stage leaves a finished shard."""
    it = iter(items)
    batch = list(islice(it, size))
    yield batch
    while batch := list(islice(it, size)):
        yield batch


def lineage(record: Record) -> dict[str, str]:
    """The ids this record descends from, by kind, plus its own: what a child record carries."""
    return {**record.provenance.get("lineage", {}), record.kind: record.id}


class Runner:
    """Runs the stages of one RunConfig into its run directory; `progress` is a rich Progress or None."""

    def __init__(self, config: RunConfig, cache: Any, progress: Any = None) -> None:
        self.config = config
        self.cache = cache
        self.progress = progress
        self.rd = RunDir(config.run_dir)
        self.method = config.method_class()(config.method_options_model(), mode=config.backend.mode)
        self.stats: dict[str, StageStats] = {}
        self.usage: dict[str, dict[str, Any]] = {}
        self._backend: Any = None
        self._sandbox: Any = None

    # -- resources, opened only when a shard needs them ----------------------------------------------------------

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from codealign.llm import load_backend

            self._backend = load_backend(self.config.backend, self.cache)
        return self._backend

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            from codealign.sandbox import Sandbox

            self._sandbox = Sandbox(workers=self.config.execution.workers, cache=self.cache)
            self._sandbox.start()
        return self._sandbox

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        if self._backend is not None:
            self._backend.close()

    def backend_usage(self) -> dict[str, Any]:
        return self._backend.usage.as_dict() if self._backend is not None else {}

    # -- stages ------------------------------------------------------------------------------------------------

    def run_stages(self) -> list[str]:
        """Every stage up to execution; returns the stage names in order."""
        names = [SEEDS]
        self._seeds()
        for stage in self.method.stages:
            self._llm_stage(stage, names[-1])
            names.append(stage.name)
        self._execute(names[-1])
        names.append(EXECUTE)
        return names

    def _begin(self, name: str, total: int | None) -> tuple[StageStats, StageProgress]:
        stats = self.stats[name] = StageStats(name)
        return stats, StageProgress(self.progress, name, total)

    def _total(self, stage: str) -> int:
        return sum(m.get("out", 0) for m in self.rd.markers(stage))

    def _seeds(self) -> None:
        from codealign.pipeline.seeds import iter_seeds

        cfg = self.config.seeds
        stats, bar = self._begin(SEEDS, None)
        for shard, rows in enumerate(chunks(iter_seeds(cfg.path, cfg.field, cfg.limit), self.config.shard_size)):
            if not self.rd.is_done(SEEDS, shard):
                records = [r for r in rows if isinstance(r, Record)]
                rejects = [r for r in rows if not isinstance(r, Record)]
                reasons = Counter(r["reason"].split(":")[0] for r in rejects)
                marker = {"in": len(rows), "out": len(records), "rejected": dict(reasons)}
                self.rd.write_shard(SEEDS, shard, records, rejects, marker)
            else:
                stats.resumed_shards += 1
            stats.add_marker(self.rd.marker(SEEDS, shard))
            bar.advance(len(rows))
        bar.finish()

    def _llm_stage(self, stage: Any, source: str) -> None:
        stats, bar = self._begin(stage.name, self._total(source))
        usage = Counter()
        size = self.config.shard_size
        for shard, records in enumerate(chunks(self.rd.iter_records(source), size)):
            resumed = self.rd.is_done(stage.name, shard)
            if resumed:
                stats.resumed_shards += 1
            else:
                started = time.perf_counter()
                self._llm_shard(stage, shard, [(shard * size + k, r) for k, r in enumerate(records)])
                stats.seconds += time.perf_counter() - started
            marker = self.rd.marker(stage.name, shard)
            stats.add_marker(marker)
            usage.update(marker.get("usage", {}))
            # Items that cost no model call now: a finished shard, or requests answered wholly from the cache.
            bar.advance(len(records), len(records) if resumed else marker.get("usage", {}).get("cached_requests", 0))
        self.usage[stage.name] = dict(usage)
        bar.finish()

    def _llm_shard(self, stage: Any, shard: int, items: list[tuple[int, Record]]) -> None:
        from codealign.synth.base import ParseError

        requests = [stage.request(record, index) for index, record in items]
        results = self.backend.generate(requests) if requests else []
        model = self.backend.model_id if requests else ""
        out: list[Record] = []
        rejects: list[dict[str, Any]] = []
        failed: list[str] = []
        usage = Counter()
        for (index, record), request, result in zip(items, requests, results, strict=True):
            usage["requests"] += 1
            usage["samples"] += request.options.n
            usage["cache_hits"] += result.cached
            usage["cached_requests"] += int(result.cached == request.options.n)
            usage["prompt_tokens"] += result.usage.prompt_tokens
            usage["completion_tokens"] += result.usage.completion_tokens
            provenance = {**self.method.provenance(stage, request, model), "lineage": lineage(record)}
            got = {c.index: c for c in result.completions}
            if result.error is not None and len(got) < request.options.n:
                failed.append(result.error)
            for sample in range(request.options.n):
                where = {"index": index, "input": record.id, "sample_index": sample}
                completion = got.get(sample)
                if completion is None:
                    rejects.append({**where, "reason": "backend error", "error": result.error})
                    continue
                if completion.finish_reason != "stop":
                    reason = "truncated at max_tokens" if completion.finish_reason == "length" else "backend error"
                    rejects.append({**where, "reason": reason, "raw": completion.text})
                    continue
                parsed = stage.parse(completion.text, record, index, sample)
                if isinstance(parsed, ParseError):
                    rejects.append({**where, "reason": parsed.reason, "raw": parsed.raw})
                    continue
                out.append(Record(stage.output_kind, parsed, parents=(record.id,), provenance=provenance))
        if failed and not self.config.skip_failed_requests:
            raise BackendError(
                f"{len(failed)} of {len(requests)} requests of stage {stage.name!r} failed ({failed[0]}); "
                "answers so far are cached: rerun the same command to retry, or set skip_failed_requests: true"
            )
        reasons = Counter(r["reason"] for r in rejects)
        marker = {"in": len(items), "out": len(out), "rejected": dict(reasons), "usage": dict(usage)}
        self.rd.write_shard(stage.name, shard, out, rejects, marker)

    def _execute(self, source: str) -> None:
        stats, bar = self._begin(EXECUTE, self._total(source))
        for shard, samples in enumerate(chunks(self.rd.iter_records(source), self.config.shard_size)):
            if self.rd.is_done(EXECUTE, shard):
                stats.resumed_shards += 1
                hits = len(samples)
            else:
                started = time.perf_counter()
                hits = self._execute_shard(shard, samples)
                stats.seconds += time.perf_counter() - started
            stats.add_marker(self.rd.marker(EXECUTE, shard))
            bar.advance(len(samples), hits)
        bar.finish()

    def _execute_shard(self, shard: int, samples: list[Record]) -> int:
        from codealign.sandbox.types import Limits
        from codealign.synth.base import ParseError

        limits = Limits(timeout=self.config.execution.timeout, memory_mb=self.config.execution.memory_mb)
        rows: list[dict[str, Any]] = []
        programs = []
        for sample in samples:
            row: dict[str, Any] = {"sample": sample.id, "instruction": sample.parents[0], "outcome": None}
            program = self.method.program(sample)
            if isinstance(program, ParseError):
                row["reason"] = program.reason
            else:
                program = program.model_copy(update={"id": sample.id, "limits": limits})
                row["execution"] = self.sandbox.key(program)
                programs.append(program)
            rows.append(row)
        outcomes = {o.id: o for o in self.sandbox.run_all(programs)} if programs else {}
        hits = sum(1 for o in outcomes.values() if o.cached)
        status = Counter()
        for row in rows:
            outcome = outcomes.get(row["sample"])
            if outcome is not None:
                # `cached` says how this process got the outcome, not what it is; leaving it out keeps files stable.
                row["outcome"] = outcome.model_dump(mode="json", exclude={"cached"})
                status[outcome.status.value] += 1
            else:
                status["not run: " + row["reason"]] += 1
        rejected = {k: v for k, v in status.items() if k != "passed"}
        marker = {"in": len(rows), "out": status["passed"], "rejected": rejected, "hits": hits}
        self.rd.write_shard(EXECUTE, shard, rows, [], marker)
        return hits
