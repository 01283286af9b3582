"""After execution: selection over every sample, then the final files, the funnel and the rejects of each filter.

Selection is cheap next to generation and execution, so it always runs again from the stored shards; changing only
the selection options of a finished run therefore redoes nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from codealign.pipeline.progress import StageStats
from codealign.pipeline.steps import Plan
from codealign.records import Record, write_jsonl
from codealign.runs import RunDir


def instruction_of(sample: Record) -> str:
    """The id of the instruction a sample answers: the nearest `instruction` in its lineage."""
    return sample.provenance.get("lineage", {}).get("instruction", sample.parents[0] if sample.parents else "")


def iter_items(
    rd: RunDir, instruction_stage: str, sample_stage: str, execute_stage: str | None
) -> Iterator[tuple]:
    """(instruction, sample, outcome or None) for every sample, streamed by merging the stages' shards.

    Samples are stored in the order of their instructions and executions in the order of their samples, so one
    pass over each stage suffices and memory does not grow with the run. Without an execution stage (a method
    that writes no tests) every outcome is None.
    """
    from codealign.sandbox.types import Outcome

    instructions = rd.iter_records(instruction_stage, kind="instruction")
    executions = rd.iter_rows(execute_stage) if execute_stage is not None else None
    current: Record | None = None
    for sample in rd.iter_records(sample_stage, kind="sample"):
        outcome = None
        if executions is not None:
            row = next(executions, None)
            if row is None or row["sample"] != sample.id:
                raise RuntimeError(f"{execute_stage} shards do not match {sample_stage} shards at sample {sample.id}")
            outcome = Outcome.model_validate(row["outcome"]) if row["outcome"] is not None else None
        parent = instruction_of(sample)
        while current is None or current.id != parent:
            current = next(instructions, None)
            if current is None:
                raise RuntimeError(f"sample {sample.id} has no instruction in {instruction_stage}")
        yield current, sample, outcome


EVIDENCE_KINDS = ("adequacy", "cross_execution")


def with_evidence(items: Iterator[tuple], rd: RunDir, stages: dict[str, str]) -> Iterator[tuple]:
    """The items with a fourth element, each sample's Evidence, read in step from the feedback stages' rows."""
    from codealign.sandbox.adequacy import Adequacy
    from codealign.select.consensus import CrossResult
    from codealign.select.items import Evidence

    streams = {kind: rd.iter_rows(stage) for kind, stage in stages.items()}
    for instruction, sample, outcome in items:
        found: dict[str, Any] = {}
        for kind, stream in streams.items():
            row = next(stream, None)
            if row is None or row["sample"] != sample.id:
                raise RuntimeError(f"{stages[kind]} shards do not match the samples at sample {sample.id}")
            found[kind] = row
        adequacy = found.get("adequacy")
        cross = found.get("cross_execution")
        yield instruction, sample, outcome, Evidence(
            adequacy=Adequacy.model_validate({k: adequacy[k] for k in ("coverage", "mutation", "errors") if k in adequacy})
            if adequacy is not None and (adequacy.get("coverage") or adequacy.get("mutation")) else None,
            cross=CrossResult.model_validate({k: cross[k] for k in ("suites", "passed", "agreement", "consensus") if k in cross})
            if cross is not None and cross.get("suites") else None,
        )


def feedback_fields(evidence: Any) -> dict[str, Any]:
    """What an SFT row says about its checks: coverage, mutation score, agreement with the other samples."""
    out: dict[str, Any] = {}
    adequacy = evidence.adequacy
    if adequacy is not None and adequacy.coverage is not None:
        out["line_coverage"] = round(adequacy.coverage.line_rate, 4)
        out["branch_coverage"] = round(adequacy.coverage.branch_rate, 4)
    if adequacy is not None and adequacy.mutation is not None:
        out["mutants"] = adequacy.mutation.run
        out["kill_rate"] = None if adequacy.mutation.kill_rate is None else round(adequacy.mutation.kill_rate, 4)
    if evidence.cross is not None:
        out["agreement"] = None if evidence.cross.agreement is None else round(evidence.cross.agreement, 4)
        out["consensus"] = evidence.cross.consensus
    return out


def final_row(instruction: Record, sample: Record, outcome: Any, execution_key: str | None = None) -> dict[str, Any]:
    from codealign.select import sft_row

    row = sft_row(instruction, sample, outcome)
    # The whole chain, seed first: which seed, which concepts, which instruction, which sample, which execution.
    chain = {**sample.provenance.get("lineage", {}), **row.get("lineage", {})}
    if isinstance(chain.get("execution"), dict):
        # Wall-clock time belongs to the machine, not to the example; keeping it would make two runs of the same
        # config differ byte for byte.
        chain["execution"] = {k: v for k, v in chain["execution"].items() if k != "duration"}
        if execution_key is not None:
            chain["execution"]["key"] = execution_key  # the sandbox cache entry holding the full outcome
    row["lineage"] = chain
    return row


def finalize(rd: RunDir, config: Any, plan: Plan, stats: dict[str, StageStats]) -> dict[str, Any]:
    """Select, write final/sft.jsonl, final/dpo.jsonl, rejects/*.jsonl and funnel.json; returns the funnel.

    Selection asks the plan for the stages that made the `instruction`, `sample` and `execution` records, whatever
    the method; a method without an execution stage is selected on the text alone (see `select(executed=False)`).
    """
    from codealign.select import select

    instruction_stage, sample_stage = plan.source("instruction"), plan.source("sample")
    execute_stage = plan.source("execution")
    if instruction_stage is None or sample_stage is None:
        raise RuntimeError(f"the run made no instruction or sample records (stages: {', '.join(plan.names)})")
    items = iter_items(rd, instruction_stage, sample_stage, execute_stage)
    evidence = {kind: stage for kind in EVIDENCE_KINDS if (stage := plan.source(kind)) is not None}
    if evidence:
        items = with_evidence(items, rd, evidence)
    selection = select(items, config.selection_options(), executed=execute_stage is not None)
    kept = {sample.id for _, sample, _ in selection.kept}
    keys: dict[str, Any] = {}
    if execute_stage is not None:
        keys = {row["sample"]: row.get("execution") for row in rd.iter_rows(execute_stage) if row["sample"] in kept}

    def row_of(item: tuple) -> dict[str, Any]:
        row = final_row(*item, keys.get(item[1].id))
        found = selection.evidence.get(item[1].id)
        checks = feedback_fields(found) if found is not None else {}
        if checks:
            row["checks"] = checks
        return row

    rows = (row_of(item) for item in selection.kept)
    n_sft = write_jsonl(rd.path / "final" / "sft.jsonl", rows)
    n_dpo = write_jsonl(rd.path / "final" / "dpo.jsonl", selection.pairs)
    for name in plan.names:
        rd.collect_rejects(name)
    write_jsonl(
        rd.path / "rejects" / "select.jsonl",
        ({"sample": record.id, "instruction": instruction_of(record), "reason": reason} for record, reason in selection.rejected),
    )
    stages = {name: stats[name].as_dict() for name in plan.names}
    funnel = {
        "stages": stages,
        "selection": selection.counts,
        "final": {"sft": n_sft, "dpo": n_dpo},
        "pass_rate": selection.pass_rates,
    }
    if selection.consensus is not None:
        funnel["consensus"] = selection.consensus
    rd.write_json("funnel.json", funnel)
    return funnel
