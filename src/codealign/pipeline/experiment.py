"""Every method on the same seeds and model, side by side: one run per method, then one QDC comparison.

    codealign run examples/compare-methods.yaml

An experiment config holds what a run config holds, once for every method (seeds, backend, teacher, execution,
selection, measure), plus `methods:`, a label for each run with its method and options. Each method runs into
`run_dir/<label>/` exactly as `codealign run` would run it alone (resumable; every answer and execution cached, so
rerunning the experiment, or adding a method to it, asks nothing twice) and is measured into
`run_dir/<label>/measure/`. Then `run_dir/compare/` gets:

    compare.html    the quality-diversity scatter (x: code diversity, y: how often the method's responses pass
                    their tests), every QDC figure side by side with the best highlighted, distributions, and each
                    method's funnel
    compare.csv, compare.json   the figures
    summary.json    per method: seeds, instructions, samples, executed, passed, sample pass rate, kept examples,
                    DPO pairs, yield per seed, and the headline diversity and complexity figures
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from codealign.config import StrictModel, build
from codealign.errors import ConfigError
from codealign.llm.backend import BackendConfig
from codealign.pipeline.config import ExecutionConfig, RunConfig, SeedsConfig
from codealign.pipeline.measure import MEASURE_DIR, RunMeasureOptions
from codealign.scale.config import ExecutorKind, RayOptions

COMPARE_DIR = "compare"
# Headline figures of the summary: (label, metric.figure). Size-bound figures are taken on the fixed-size sample.
HEADLINES = (
    ("code diversity (Vendi, sample)", "vendi.code.vendi.sample"),
    ("instruction diversity (Vendi, sample)", "vendi.instruction.vendi.sample"),
    ("code distinct-2 (sample)", "distinct_n.code.distinct_2.sample"),
    ("instruction words", "instruction_size.words"),
    ("code lines", "code_size.loc"),
    ("cyclomatic complexity", "radon.cyclomatic"),
)
PASS_AXIS = "funnel.sample_pass_rate"


class MethodRun(StrictModel):
    """One method of an experiment: which method, its options, and (rarely) seeds of its own."""

    method: str | None = Field(None, description="registry name; default: the entry's label")
    method_options: dict[str, Any] = Field(default_factory=dict, description="the method's own options")
    seeds: SeedsConfig | None = Field(None, description="seeds for this method only (default: the experiment's)")


class CompareAxes(StrictModel):
    x: str | None = Field(None, description="diversity axis, METRIC.FIGURE (default: code Vendi on the sample)")
    y: str | None = Field(None, description=f"quality axis (default: {PASS_AXIS}, the samples' pass rate)")


class ExperimentConfig(StrictModel):
    """Several methods on the same seeds and model; every key but `methods` and `compare` is a run config's."""

    run_dir: str = Field(..., description="one folder per method below it, and compare/")
    seeds: SeedsConfig
    backend: BackendConfig
    teacher: BackendConfig | None = Field(None, description="the teacher block of methods that use one (distill)")
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    selection: dict[str, Any] = Field(default_factory=dict)
    faithful: bool = False
    shard_size: int = Field(256, ge=1)
    skip_failed_requests: bool = False
    executor: ExecutorKind = Field("local", description="local, or ray: every method's calls and programs on the cluster")
    ray: RayOptions = Field(default_factory=RayOptions)
    measure: RunMeasureOptions = Field(default_factory=RunMeasureOptions)
    methods: dict[str, MethodRun] = Field(..., min_length=1, description="label -> method and options")
    compare: CompareAxes = Field(default_factory=CompareAxes)

    @model_validator(mode="after")
    def _check_runs(self) -> ExperimentConfig:
        for label in self.methods:
            if not label or "/" in label or label.startswith("."):
                raise ValueError(f"method label {label!r} must be a plain folder name")
            self.run_config(label)  # every method's options are checked before anything runs
        return self

    def run_config(self, label: str) -> RunConfig:
        entry = self.methods[label]
        data = self.model_dump(mode="json", exclude={"methods", "compare"})
        data["run_dir"] = str(Path(self.run_dir) / label)
        data["method"] = entry.method or label
        data["method_options"] = dict(entry.method_options)
        if entry.seeds is not None:
            data["seeds"] = entry.seeds.model_dump(mode="json")
        try:
            return build(RunConfig, data, f"methods.{label}")
        except ConfigError as exc:
            message = str(exc)
            raise ConfigError(message if message.startswith(f"methods.{label}") else f"methods.{label}: {message}") from None


def _stage_total(funnel: dict[str, Any], stage: str | None, kind: str) -> int | None:
    entry = funnel["stages"].get(stage or "")
    if entry is None:
        return None
    return entry.get("kinds", {}).get(kind, entry.get("out"))


def summarize(label: str, config: RunConfig, funnel: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
    """One method's row of the comparison: what its funnel made and its headline QDC figures."""
    from codealign.pipeline.steps import build_steps

    producers: dict[str, str] = {}
    for step in build_steps(config.build_method(), config):
        for kind in step.produces:
            producers[kind] = step.name
    rates = funnel.get("pass_rate", {}).get("category", {})
    executed = sum(row["executed"] for row in rates.values())
    passed = sum(row["passed"] for row in rates.values())
    seeds = funnel["stages"]["seeds"]["out"]
    row: dict[str, Any] = {
        "method": config.method,
        "seeds": seeds,
        "instructions": _stage_total(funnel, producers.get("instruction"), "instruction"),
        "samples": _stage_total(funnel, producers.get("sample"), "sample"),
        "executed": executed if "execution" in producers else None,
        "passed": passed if "execution" in producers else None,
        "sample_pass_rate": round(passed / executed, 4) if executed else None,
        "sft": funnel["final"]["sft"],
        "dpo": funnel["final"]["dpo"],
        "yield_per_seed": round(funnel["final"]["sft"] / seeds, 4) if seeds else None,
    }
    for _, dotted in HEADLINES:
        name, _, key = dotted.partition(".")
        value = (report or {}).get("metrics", {}).get(name, {}).get("values", {}).get(key)
        row[dotted] = value
    return {"label": label, **row}


def _with_funnel(label: str, report: dict[str, Any] | None, row: dict[str, Any], path: str) -> dict[str, Any]:
    """The method's measurement with its funnel figures as one more quality metric, so they compare like any."""
    from codealign.measure.runner import FORMAT

    report = json.loads(json.dumps(report)) if report else {
        "format": FORMAT, "dataset": {"name": label, "path": path, "records": 0}, "metrics": {}, "skipped": {},
    }  # fmt: skip
    report["dataset"]["name"] = label
    report["metrics"]["funnel"] = {
        "group": "quality",
        "version": 1,
        "description": "from the run's funnel: share of executed samples that passed their own tests, before selection",
        "values": {"sample_pass_rate": row["sample_pass_rate"], "yield_per_seed": row["yield_per_seed"]},
        "directions": {"sample_pass_rate": "higher", "yield_per_seed": "higher"},
        "distributions": {},
        "counts": {},
        "notes": [],
        "headline": ["sample_pass_rate", "yield_per_seed"],
        "seconds": 0.0,
    }
    return report


def funnel_section(labels: list[str], funnels: list[dict[str, Any]]) -> str:
    """Each method's funnel as a table: stages, then selection filters, then what was kept."""
    parts = ['<h2>Funnels</h2><p class="muted">What each stage and each selection filter took in, kept, and '
             "removed (by reason). A stage that makes several kinds of records counts its first kind.</p>"]
    for label, funnel in zip(labels, funnels, strict=True):
        rows = []
        for name, stage in funnel["stages"].items():
            rows.append((name, stage.get("in"), stage.get("out"), stage.get("rejected", {})))
            for rnd in stage.get("rounds", []):
                rows.append((f"  round {rnd['round']}", rnd["in"], rnd["out"], rnd["rejected"]))
        for name, step in funnel.get("selection", {}).items():
            rows.append((f"select: {name}", step.get("in"), step.get("out"), step.get("by_reason", {})))
        final = funnel.get("final", {})
        trs = "".join(
            f"<tr><td>{escape(name)}</td><td class=\"num\">{'' if n_in is None else n_in}</td>"
            f"<td class=\"num\">{'' if n_out is None else n_out}</td><td>"
            + escape(", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])) or "-")
            + "</td></tr>"
            for name, n_in, n_out, reasons in rows
        )
        parts.append(
            f"<h3>{escape(label)}</h3><table><tr><th>stage</th><th>in</th><th>out</th><th>removed, by reason</th></tr>"
            f"{trs}<tr><td><b>final</b></td><td></td><td class=\"num\">{final.get('sft', 0)} SFT / "
            f"{final.get('dpo', 0)} DPO</td><td></td></tr></table>"
        )
    return "".join(parts)


def run_experiment(config: ExperimentConfig, cache: Any, console: Any = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) every method, measure each, write run_dir/compare/; returns the summary."""
    from codealign.measure.compare import write_comparison
    from codealign.pipeline import run_pipeline
    from codealign.records import AtomicWriter

    labels = list(config.methods)
    funnels, reports, rows = [], [], []
    for label in labels:
        run_config = config.run_config(label)
        if console is not None:
            console.print(f"[bold]{label}[/] ({run_config.method}) -> {run_config.run_dir}", highlight=False)
        funnel = run_pipeline(run_config, cache, console, progress=progress)
        metrics = Path(run_config.run_dir) / MEASURE_DIR / "metrics.json"
        report = json.loads(metrics.read_text(encoding="utf-8")) if metrics.exists() and funnel["final"]["sft"] else None
        row = summarize(label, run_config, funnel, report)
        funnels.append(funnel)
        rows.append(row)
        reports.append(_with_funnel(label, report, row, str(Path(run_config.run_dir) / "final" / "sft.jsonl")))
    out = Path(config.run_dir) / COMPARE_DIR
    executed_all = all(isinstance(r["sample_pass_rate"], float | int) for r in rows)
    y = config.compare.y or (PASS_AXIS if executed_all else None)
    write_comparison(reports, out, x=config.compare.x, y=y, sections=[funnel_section(labels, funnels)])
    summary = {"run_dir": config.run_dir, "methods": rows, "headlines": dict((d, label) for label, d in HEADLINES)}
    with AtomicWriter(out / "summary.json") as fh:
        json.dump(summary, fh, indent=1)
        fh.write("\n")
    return summary


def summary_table(summary: dict[str, Any]) -> Any:
    """The terminal's view of summary.json: one row per method."""
    from rich.table import Table

    from codealign.measure.svg import fmt

    table = Table(title=f"methods compared: {summary['run_dir']}/compare/compare.html")
    columns = [
        ("method", "label"), ("seeds", "seeds"), ("instr.", "instructions"), ("samples", "samples"),
        ("pass rate", "sample_pass_rate"), ("SFT", "sft"), ("DPO", "dpo"), ("yield/seed", "yield_per_seed"),
        ("Vendi code", "vendi.code.vendi.sample"), ("Vendi instr.", "vendi.instruction.vendi.sample"),
        ("words", "instruction_size.words"), ("LOC", "code_size.loc"), ("cyclomatic", "radon.cyclomatic"),
    ]  # fmt: skip
    for title, _ in columns:
        table.add_column(title, justify="left" if title == "method" else "right")
    for row in summary["methods"]:
        table.add_row(*(str(row[key]) if key == "label" else fmt(row.get(key)) for _, key in columns))
    return table


def is_experiment(data: dict[str, Any]) -> bool:
    """A config with a `methods:` block is an experiment; one with `method:` is a single run."""
    return isinstance(data, dict) and "methods" in data
