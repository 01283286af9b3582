"""The stages of a run as the runner sees them: each reads records of one kind in shards and writes shards.

    seeds     reads the seeds file                       -> seed
    <method>  one step per stage of the method           consumes and produces what the stage declares
              (GenerateStep for an LLM stage, MapStep for one without a model)
    execute   runs every sample's code and tests         sample -> execution

A step's `run_shard(shard, items, ctx)` computes one shard and returns its records, its rejects (each with a short
reason) and its marker (counts: `in`, `out`, `rejected` by reason, plus what the step adds: `usage` for LLM steps,
`hits` for execution, `kinds` when a step makes several kinds, `rounds` for multi-round stages). The runner writes
the shard, then its marker, and skips shards that have one on resume. `ctx` is the runner: `ctx.config`,
`ctx.method`, `ctx.backend_for(role)`, `ctx.sandbox`, `ctx.read(kind)`.

An executor decides only where `run_shard` runs; a step with `sequential = True` must see its shards run in order
(its shard s depends on shards < s). Execution feedback (repair, adequacy, cross-checking) is more steps of the same
kind, in `codealign.pipeline.feedback`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from codealign.errors import BackendError
from codealign.records import Record

SEEDS = "seeds"
EXECUTE = "execute"
EXECUTION_CHECKS = ("asserts",)  # what the sandbox measures while each sample runs (the test-quality gate reads it)
TRUNCATED = "truncated at max_tokens"  # the reject reason of an answer cut by max_tokens


@dataclass
class ShardOutput:
    """What one shard of a step made. `hits`: items that cost no model call or execution now (progress only)."""

    records: list[Record | dict[str, Any]]
    rejects: list[dict[str, Any]]
    marker: dict[str, Any]
    hits: int = 0


def lineage(record: Record) -> dict[str, str]:
    """The ids this record descends from, by kind, plus its own: what a child record carries."""
    return {**record.provenance.get("lineage", {}), record.kind: record.id}


class Step(ABC):
    name: str
    consumes: str | None  # None: reads outside the run (the seeds file)
    produces: tuple[str, ...]
    sequential: bool = False
    uses_backend: ClassVar[bool] = False  # its usage (requests, tokens) is reported in usage.json

    def inputs(self, ctx: Any, source: str | None) -> Iterable[Any]:
        """The items to shard: by default every record of the consumed kind, in the order `source` stored them."""
        assert self.consumes is not None
        return ctx.rd.iter_records(source, kind=self.consumes)

    def start(self, ctx: Any) -> None:
        """Called once before the first shard."""
        return None

    def observe(self, records: list[Record]) -> None:
        """Sequential steps: each finished shard's records, in shard order."""
        return None

    def resumed_hits(self, items: list[Any]) -> int:
        return len(items)

    def options(self) -> dict[str, Any]:
        """What besides its input decides this step's records (JSON values); kept in each marker, and a shard made
        with other options is made again."""
        return {}

    def redo(self, marker: dict[str, Any], ctx: Any) -> bool:
        """Whether a finished shard (its marker) must be made again on this run."""
        return False

    def total(self, ctx: Any, source: str) -> int | None:
        """How many items the step will read (the progress bar's total), or None when unknown."""
        return ctx._total(source, self.consumes or "")

    @abstractmethod
    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        """Compute shard `shard`; `items` are (stable position in the step's input, item)."""


class StageStep(Step):
    """A step that runs one stage of the method: its name, input, products and order come from the stage."""

    def __init__(self, stage: Any) -> None:
        self.stage = stage
        self.name = stage.name
        self.consumes = stage.consumes
        self.produces = tuple(stage.produces)
        self.sequential = stage.sequential

    def start(self, ctx: Any) -> None:
        self.stage.start(ctx.read)

    def observe(self, records: list[Record]) -> None:
        self.stage.observe(records)


class SeedsStep(Step):
    """Seed rows of the seeds file as `seed` records; unreadable rows and duplicates become rejects."""

    name = SEEDS
    consumes = None
    produces = ("seed",)

    def inputs(self, ctx: Any, source: str | None) -> Iterable[Any]:
        from codealign.pipeline.seeds import iter_seeds

        cfg = ctx.config.seeds
        return iter_seeds(cfg.path, cfg.field, cfg.limit)

    def resumed_hits(self, items: list[Any]) -> int:
        return 0

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        rows = [row for _, row in items]
        records = [r for r in rows if isinstance(r, Record)]
        rejects = [r for r in rows if not isinstance(r, Record)]
        reasons = Counter(r["reason"].split(":")[0] for r in rejects)
        return ShardOutput(records, rejects, {"in": len(rows), "out": len(records), "rejected": dict(reasons)})


class GenerateStep(StageStep):
    """One LLM stage of the method: requests per item and round, the backend of the stage's role, parsed records."""

    uses_backend = True

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        stage = self.stage
        multi_round = stage.rounds > 1
        made: list[list[Record]] = [[] for _ in items]
        seen: set[str] = set()  # ids are content hashes: a second identical record is a duplicate, not a new one
        rejects: list[dict[str, Any]] = []
        failed: list[str] = []
        usage: Counter = Counter()
        rounds: list[dict[str, Any]] = []
        work = [(pos, index, record) for pos, (index, record) in enumerate(items)]
        for rnd in range(stage.rounds):
            if not work and rnd > 0:
                break
            requests = [stage.request(record, index, rnd) for _, index, record in work]
            backend = ctx.backend_for(stage.backend) if requests else None
            results = backend.generate(requests) if backend is not None else []
            model = backend.model_id if backend is not None else ""
            before = len(rejects)
            n_out = 0
            follow: list[tuple[int, int, Record]] = []
            for (pos, index, record), request, result in zip(work, requests, results, strict=True):
                usage["requests"] += 1
                usage["samples"] += request.options.n
                usage["cache_hits"] += result.cached
                usage["cached_requests"] += int(result.cached == request.options.n)
                usage["prompt_tokens"] += result.usage.prompt_tokens
                usage["completion_tokens"] += result.usage.completion_tokens
                provenance = {**ctx.method.provenance(stage, request, model), "lineage": lineage(record)}
                got = {c.index: c for c in result.completions}
                if result.error is not None and len(got) < request.options.n:
                    failed.append(result.error)
                item_made: list[Record] = []
                for sample in range(request.options.n):
                    where: dict[str, Any] = {"index": index, "input": record.id, "sample_index": sample}
                    if multi_round:
                        where["round"] = rnd + 1
                    completion = got.get(sample)
                    if completion is None:
                        rejects.append({**where, "reason": "backend error", "error": result.error})
                        continue
                    if completion.finish_reason != "stop":
                        reason = TRUNCATED if completion.finish_reason == "length" else "backend error"
                        rejects.append({**where, "reason": reason, "raw": completion.text})
                        continue
                    parsed = stage.parse(completion.text, record, index, sample, rnd)
                    for new in _records(parsed, stage, record, provenance, where, rejects):
                        if new.id in seen:
                            rejects.append({**where, "reason": f"duplicate {new.kind}", "raw": completion.text})
                            continue
                        seen.add(new.id)
                        item_made.append(new)
                made[pos].extend(item_made)
                n_out += len(item_made)
                if rnd + 1 < stage.rounds:
                    nxt = stage.next_round(record, index, rnd, item_made)
                    if nxt is not None:
                        follow.append((pos, index, nxt))
            if failed and not ctx.config.skip_failed_requests:
                raise BackendError(
                    f"{len(failed)} of {len(requests)} requests of stage {stage.name!r} failed ({failed[0]}); "
                    "answers so far are cached: rerun the same command to retry, or set skip_failed_requests: true"
                )
            rounds.append({"in": len(work), "out": n_out, "rejected": dict(Counter(r["reason"] for r in rejects[before:]))})
            work = follow
        out = [record for group in made for record in group]
        marker: dict[str, Any] = {
            "in": len(items),
            "out": sum(1 for r in out if r.kind == self.produces[0]),
            "rejected": dict(Counter(r["reason"] for r in rejects)),
            "usage": dict(usage),
        }
        if len(self.produces) > 1:
            marker["kinds"] = {kind: sum(1 for r in out if r.kind == kind) for kind in self.produces}
        if multi_round:
            marker["rounds"] = rounds
        return ShardOutput(out, rejects, marker, hits=usage["cached_requests"])


def _records(
    parsed: Any, stage: Any, parent: Record, provenance: dict[str, Any], where: dict[str, Any], rejects: list
) -> list[Record]:
    """The records a parse result stands for (an Out tree, a list, or a dict of fields); ParseErrors become rejects."""
    from codealign.synth.base import Out, ParseError

    made: list[Record] = []

    def emit(out: Out, parent: Record, provenance: dict[str, Any]) -> None:
        if out.kind not in stage.produces:
            raise TypeError(f"stage {stage.name!r} produced a {out.kind!r} record; it declares {stage.produces}")
        record = Record(out.kind, out.data, parents=(parent.id,), provenance=provenance)
        made.append(record)
        for child in out.children:
            emit(child, record, {**provenance, "lineage": lineage(record)})

    for part in parsed if isinstance(parsed, list) else [parsed]:
        if isinstance(part, ParseError):
            rejects.append({**where, "reason": part.reason, "raw": part.raw})
        elif isinstance(part, Out):
            emit(part, parent, provenance)
        else:
            emit(Out(stage.produces[0], part), parent, provenance)
    return made


def sample_program(ctx: Any, sample: Record) -> Any:
    """The program a sample runs as (the method's, with the run's limits and its asserts counted), or a ParseError.

    Every step that runs a sample builds it here, so they all share one cache entry per sample.
    """
    from codealign.synth.base import ParseError

    program = ctx.method.program(sample)
    if isinstance(program, ParseError):
        return program
    # Counting the asserts that run costs one call per assert and lets selection judge the tests.
    return program.model_copy(update={"id": sample.id, "limits": ctx.limits, "checks": EXECUTION_CHECKS})


class MapStep(StageStep):
    """A method stage without a model (seeds read as tasks, for instance): one call of `apply` per item."""

    def resumed_hits(self, items: list[Any]) -> int:
        return 0

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        out: list[Record] = []
        rejects: list[dict[str, Any]] = []
        for index, record in items:
            provenance = {**ctx.method.provenance(self.stage), "lineage": lineage(record)}
            where = {"index": index, "input": record.id}
            out.extend(_records(self.stage.apply(record, index), self.stage, record, provenance, where, rejects))
        marker: dict[str, Any] = {
            "in": len(items),
            "out": sum(1 for r in out if r.kind == self.produces[0]),
            "rejected": dict(Counter(r["reason"] for r in rejects)),
        }
        if len(self.produces) > 1:
            marker["kinds"] = {kind: sum(1 for r in out if r.kind == kind) for kind in self.produces}
        return ShardOutput(out, rejects, marker)


class ExecuteStep(Step):
    """Every sample's code and tests in the sandbox; one row per sample, `outcome` None when it cannot be run."""

    name = EXECUTE
    consumes = "sample"
    produces = ("execution",)

    def redo(self, marker: dict[str, Any], ctx: Any) -> bool:
        # With `execution.retry_timeouts`, a shard that has timeouts runs them again (the rest comes from the cache).
        return bool(ctx.config.execution.retry_timeouts and marker.get("rejected", {}).get("timeout"))

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        from codealign.synth.base import ParseError

        rows: list[dict[str, Any]] = []
        programs = []
        for _, sample in items:
            instruction = sample.provenance.get("lineage", {}).get("instruction", sample.parents[0])
            row: dict[str, Any] = {"sample": sample.id, "instruction": instruction, "outcome": None}
            program = sample_program(ctx, sample)
            if isinstance(program, ParseError):
                row["reason"] = program.reason
            else:
                row["execution"] = ctx.sandbox.key(program)
                programs.append(program)
            rows.append(row)
        outcomes = {o.id: o for o in ctx.sandbox.run_all(programs)} if programs else {}
        hits = sum(1 for o in outcomes.values() if o.cached)
        status: Counter = Counter()
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
        return ShardOutput(rows, [], marker, hits=hits)


@dataclass
class Plan:
    """What ran: stage names in order, and which stage made each kind (the last one that produced it)."""

    names: list[str] = field(default_factory=list)
    producers: dict[str, str] = field(default_factory=dict)

    def source(self, kind: str) -> str | None:
        return self.producers.get(kind)


def build_steps(method: Any, config: Any = None) -> list[Step]:
    """The steps of a run of `method`: seeds, its stages (an LLM stage or one without a model), then execution when
    its samples carry tests, with the execution feedback the config asks for (repair before execution; adequacy and
    cross-checking after it)."""
    from codealign.synth.base import LLMStage

    steps: list[Step] = [SeedsStep()]
    steps += [GenerateStep(stage) if isinstance(stage, LLMStage) else MapStep(stage) for stage in method.stages]
    if method.executes:
        if config is not None:
            from codealign.pipeline.feedback import feedback_steps

            before, after = feedback_steps(method, config)
            return [*steps, *before, ExecuteStep(), *after]
        steps.append(ExecuteStep())
    return steps
