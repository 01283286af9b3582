"""The repair step: samples in, samples out, with failing ones sent back to the model up to R rounds.

Each sample runs in the sandbox (the same program, and so the same cache entry, as the execute step that follows);
a failed one gets a repair request with its tests and error (`codealign.synth.repair`), the answer runs with the
same tests, and a still-failing answer goes round again with its own error. Every sample comes out as it came in;
each repaired one follows its original, marked in its data (`repair_round`) and provenance (`repair`: round, the
sample it fixes, the error it fixed). Answers that still fail after the last round are rejects ("still_failing").
The marker counts each round: in (sent), out (repaired), rejected by reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from codealign.pipeline.steps import TRUNCATED, GenerateStep, ShardOutput, lineage, sample_program
from codealign.records import Record

REPAIR = "repair"


class RepairStep(GenerateStep):
    """sample -> sample: the originals, each followed by its repair when one passed."""

    def __init__(self, stage: Any, rounds: int) -> None:
        super().__init__(stage)
        self.rounds = rounds

    def options(self) -> dict[str, Any]:
        return {"rounds": self.rounds}

    def inputs(self, ctx: Any, source: str | None) -> Any:
        from codealign.pipeline.finalize import iter_items

        return ((instruction, sample) for instruction, sample, _ in iter_items(ctx.rd, ctx.plan.source("instruction"), source, None))

    def run_shard(self, shard: int, items: list[tuple[int, Any]], ctx: Any) -> ShardOutput:
        from codealign.sandbox.types import Status
        from codealign.select.items import FAILING
        from codealign.synth.base import ParseError
        from codealign.synth.repair import failure_text

        stage = self.stage
        usage: Counter = Counter()
        rounds: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        repaired: dict[str, Record] = {}
        # (position, index, instruction, original, current attempt, its outcome)
        programs = {sample.id: sample_program(ctx, sample) for _, (_, sample) in items}
        runnable = [p for p in programs.values() if not isinstance(p, ParseError)]
        outcomes = {o.id: o for o in ctx.sandbox.run_all(runnable)} if runnable else {}
        work = [
            (index, instruction, sample, sample, outcomes[sample.id])
            for index, (instruction, sample) in items
            if sample.id in outcomes and outcomes[sample.id].status in FAILING
        ]
        backend = ctx.backend_for(stage.backend) if work else None
        for rnd in range(self.rounds):
            if not work:
                break
            asks = [
                Record("sample", {**attempt.data, "instruction": instruction.data["instruction"], "error": failure_text(outcome)})
                for _, instruction, _, attempt, outcome in work
            ]
            requests = [stage.request(ask, index, rnd) for ask, (index, *_) in zip(asks, work, strict=True)]
            results = backend.generate(requests)
            made: list[tuple[Any, Record]] = []
            counts: Counter = Counter()
            for (index, instruction, original, attempt, outcome), request, result in zip(work, requests, results, strict=True):
                usage["requests"] += 1
                usage["samples"] += 1
                usage["cache_hits"] += result.cached
                usage["cached_requests"] += int(result.cached == 1)
                usage["prompt_tokens"] += result.usage.prompt_tokens
                usage["completion_tokens"] += result.usage.completion_tokens
                where = {"index": index, "input": original.id, "round": rnd + 1}
                completion = result.completions[0] if result.completions else None
                if completion is None or completion.finish_reason != "stop":
                    reason = TRUNCATED if completion is not None and completion.finish_reason == "length" else "backend error"
                    counts[reason] += 1
                    rejects.append({**where, "reason": reason, "raw": completion.text if completion else None, "error": result.error})
                    continue
                parsed = stage.parse(completion.text, attempt, index, 0, rnd)
                if isinstance(parsed, ParseError):
                    counts[parsed.reason] += 1
                    rejects.append({**where, "reason": parsed.reason, "raw": parsed.raw})
                    continue
                provenance = {
                    **ctx.method.provenance(stage, request, backend.model_id),
                    "lineage": lineage(original),
                    "repair": {"round": rnd + 1, "repairs": original.id, "error": outcome.error or outcome.status.value},
                }
                made.append(((index, instruction, original), Record("sample", parsed, parents=(attempt.id,), provenance=provenance)))
            attempts = {record.id: sample_program(ctx, record) for _, record in made}
            ran = {o.id: o for o in ctx.sandbox.run_all([p for p in attempts.values() if not isinstance(p, ParseError)])}
            follow = []
            fixed = 0
            for (index, instruction, original), record in made:
                outcome = ran.get(record.id)
                if outcome is not None and outcome.status is Status.PASSED:
                    repaired[original.id] = record
                    fixed += 1
                elif outcome is not None and outcome.status in FAILING:
                    counts["still_failing"] += 1
                    follow.append((index, instruction, original, record, outcome))
                    if rnd + 1 == self.rounds:
                        rejects.append({"index": index, "input": original.id, "round": rnd + 1, "reason": "still_failing",
                                        "raw": record.data["response"], "error": failure_text(outcome)})  # fmt: skip
                else:
                    counts["not_run"] += 1
            rounds.append({"in": len(work), "out": fixed, "rejected": dict(counts)})
            work = follow
        out: list[Record] = []
        for _, (_, sample) in items:
            out.append(sample)
            if sample.id in repaired:
                out.append(repaired[sample.id])
        marker: dict[str, Any] = {
            "in": len(items), "out": len(out), "rejected": dict(Counter(r["reason"] for r in rejects)),
            "usage": dict(usage), "rounds": rounds, "repaired": len(repaired),
        }  # fmt: skip
        return ShardOutput(out, rejects, marker, hits=usage["cached_requests"])
