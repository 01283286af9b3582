"""The figures of one round, read from what its steps wrote: the run's funnel and usage, QDC, the training summary,
and the evaluation summaries. Nothing here runs a model; every figure can be read again from the round's files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from codealign.pipeline.steps import TRUNCATED


def kind_count(view: Any, kind: str) -> int | None:
    """Records of `kind` the run made (the last stage that makes them; markers count each kind of a stage)."""
    stage = view.stage_of(kind)
    if stage is None:
        return None
    total = 0
    for marker in view.rd.markers(stage):
        kinds = marker.get("kinds")
        total += kinds.get(kind, 0) if isinstance(kinds, dict) else marker.get("out", 0)
    return total


def run_figures(run_dir: Path) -> dict[str, Any]:
    """Data yield, truncation, tokens and the headline QDC figures of one finished run."""
    from codealign.export.qdc import qdc_rows, run_qdc
    from codealign.export.rundata import RunView

    view = RunView(run_dir)
    steps = view.steps()
    sandbox = view.usage.get("sandbox") or {}
    executed = int(sandbox.get("programs", 0))
    passed = int((sandbox.get("outcomes") or {}).get("passed", 0))
    tokens: Counter = Counter()
    for stage in (view.usage.get("stages") or {}).values():
        tokens.update({k: stage.get(k, 0) for k in ("prompt_tokens", "completion_tokens")})
    final = view.final_counts()
    figures: dict[str, Any] = {
        "seeds": kind_count(view, "seed"),
        "instructions": kind_count(view, "instruction"),
        "responses": kind_count(view, "sample"),
        "executed": executed,
        "passed": passed,
        "pass_rate": round(passed / executed, 4) if executed else None,
        "truncated": sum(s.rejected.get(TRUNCATED, 0) for s in steps if s.group == "stage"),
        "sft": final["sft"],
        "dpo": final["dpo"],
        "prompt_tokens": tokens["prompt_tokens"],
        "completion_tokens": tokens["completion_tokens"],
        "lost_at": lost_at(steps) if final["sft"] == 0 else None,
    }
    qdc = run_qdc(view)
    figures["qdc"] = {f"{metric}.{key}": value for _, metric, key, value, _ in qdc_rows(qdc)}
    figures["qdc_note"] = qdc.note
    return figures


def lost_at(steps: list[Any]) -> str:
    """Where a run that kept nothing lost its last records: the first step with nothing out, and why."""
    for step in steps:
        if step.n_out == 0:
            reasons = ", ".join(f"{reason} {n}" for reason, n in Counter(step.rejected).most_common(3))
            what = "stage" if step.group == "stage" else "selection filter"
            return f"{what} {step.name!r}: {step.n_in} in, 0 out" + (f" ({reasons})" if reasons else "")
    return "no step kept anything"


def train_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """Examples, what was dropped (too long, ...), steps, loss first and last, eval loss; DPO margins and accuracy."""
    results = summary.get("results") or {}
    data = summary.get("data") or {}
    dropped: Counter = Counter()
    for source in data.get("sources") or []:
        dropped.update(source.get("dropped") or {})
    keep = ("steps", "epochs", "first_loss", "last_loss", "eval_loss", "rewards/margins", "rewards/accuracies",
            "tokens", "seconds", "resumed_from")  # fmt: skip
    return {
        "train_examples": data.get("train"),
        "eval_examples": data.get("eval"),
        "dropped": dict(dropped),
        "too_long": dropped.get("too long", 0),
        **{k: results[k] for k in keep if k in results},
        "model": summary.get("output_dir"),
    }


def eval_figures(summary: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """pass@k, outcomes, answers cut by max_tokens, and the benchmark tasks found in the training data."""
    overlap = summary.get("overlap") or {}
    return {
        "benchmark": summary["benchmark"]["name"],
        "pass_at_k": summary.get("pass_at_k", {}),
        "tasks": summary.get("tasks"),
        "samples": summary.get("samples"),
        "outcomes": summary.get("outcomes", {}),
        "truncated": sum(1 for r in rows if r.get("finish_reason") == "length"),
        "overlap": len(overlap.get("tasks") or {}) if overlap else None,
        "failed_requests": len(summary.get("failed_requests") or {}),
    }
