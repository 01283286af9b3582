"""A run ends by measuring its final data: Quality, Diversity and Complexity into `run_dir/measure/`.

The `measure` job (`codealign.measure`) reads `final/sft.jsonl` the way the pipeline ran it: the code and the tests
are the very program the sandbox executed (same text, same limits), so the execution metric finds every outcome
in the cache and runs nothing again. Like selection, measurement is cheap and always redone from the final files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from codealign.config import StrictModel
from codealign.records import iter_jsonl

MEASURE_DIR = "measure"


class RunMeasureOptions(StrictModel):
    """The `measure:` block of a run config: which QDC metrics the run's final data gets."""

    enabled: bool = Field(True, description="measure the final data into run_dir/measure/ (metrics.json, report.html)")
    metrics: list[str] = Field(["default"], description="metric names; 'default' = every metric that needs no model")
    skip: list[str] = Field([], description="metric names to leave out")
    options: dict[str, dict[str, Any]] = Field({}, description="per-metric options, e.g. {vendi: {dim: 4096}}")
    sample_size: int = Field(1000, ge=2, description="records in the fixed-size sample for size-dependent figures")
    workers: int | None = Field(None, ge=1, description="processes; default: all cores")


def measured_rows(sft_path: Path) -> list[dict[str, Any]]:
    """The final rows with the executed program's code and tests as the fields `measure` reads."""
    from codealign.synth import code as codeutil

    rows = []
    for row in iter_jsonl(sft_path):
        language = row.get("language") or "python"
        code, tests = codeutil.program_parts(row.get("response") or "", row.get("tests") or "", language)
        rows.append(
            {
                "instruction": row.get("instruction"),
                "response": row.get("response"),
                "code": code,
                "tests": tests,
                "language": language,
                "concepts": row.get("concepts"),
                "category": row.get("category"),
                "difficulty": row.get("difficulty"),
            }
        )
    return rows


def measure_run(run_dir: str | Path, config: Any, cache: Any, name: str | None = None) -> dict[str, Any] | None:
    """Measure `run_dir/final/sft.jsonl` into `run_dir/measure/`; returns the report, or None when nothing was kept
    (or measurement is off)."""
    from codealign.config import build
    from codealign.measure.data import FieldMap, dataset_from_rows
    from codealign.measure.report import render_report
    from codealign.measure.runner import MeasureConfig, measure

    options: RunMeasureOptions = config.measure
    run_dir = Path(run_dir)
    if not options.enabled:
        return None
    rows = measured_rows(run_dir / "final" / "sft.jsonl")
    if not rows:
        return None
    metric_options = {k: dict(v) for k, v in options.options.items()}
    # The limits and checks of the run's execute stage, so that the execution metric's programs have its cache keys.
    from codealign.pipeline.steps import EXECUTION_CHECKS

    metric_options["execution"] = {
        "timeout": config.execution.timeout, "memory_mb": config.execution.memory_mb, "checks": list(EXECUTION_CHECKS),
        **metric_options.get("execution", {}),
    }  # fmt: skip
    measure_config = build(
        MeasureConfig,
        {
            "metrics": options.metrics, "skip": options.skip, "options": metric_options,
            "sample_size": options.sample_size, "workers": options.workers or config.execution.workers,
        },
        source="measure",
    )  # fmt: skip
    dataset = dataset_from_rows(rows, name=name or run_dir.name, fields=FieldMap(code="code"))
    dataset.path = str(run_dir / "final" / "sft.jsonl")
    result = measure(dataset, measure_config, cache=cache)
    out = run_dir / MEASURE_DIR
    result.write(out)
    report = result.to_dict()
    render_report(report, out / "report.html")
    return report
