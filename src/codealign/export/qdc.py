"""The QDC measurement of a run's final data: the one the run wrote (`run_dir/measure/`), or a quick one when cheap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codealign.export.rundata import RunView

MEASURE_DIR = "measure"
# Up to this many final examples, measuring takes seconds, so a run without a measurement gets one for its page.
CHEAP_ROWS = 5000


@dataclass
class QDC:
    report: dict[str, Any] | None  # a metrics.json dict
    link: str | None  # the full QDC page, relative to the run directory
    note: str  # where the figures come from, or why there are none
    command: str = ""  # the command that writes the full QDC report, when the run has none


def run_qdc(view: RunView, compute: bool = True) -> QDC:
    stored = view.path / MEASURE_DIR / "metrics.json"
    html = view.path / MEASURE_DIR / "report.html"
    link = f"{MEASURE_DIR}/report.html" if html.exists() else None
    if stored.exists():
        from codealign.errors import InputError
        from codealign.measure.compare import load_report

        try:
            return QDC(load_report(stored), link, f"from {MEASURE_DIR}/metrics.json")
        except InputError as exc:
            return QDC(None, link, str(exc))
    command = f"codealign measure {view.path} -o {view.path / MEASURE_DIR}"
    n = view.final_counts()["sft"]
    if not view.finished or n == 0:
        return QDC(None, None, "no final examples to measure")
    if not compute or n > CHEAP_ROWS:
        return QDC(None, None, "not measured here", command)
    from codealign.measure.data import dataset_from_rows
    from codealign.measure.runner import MeasureConfig, measure

    # Every final example already passed in the sandbox, so execution is left out: the rest takes seconds.
    dataset = dataset_from_rows(list(view.final_rows()), name=view.path.name)
    result = measure(dataset, MeasureConfig(skip=["execution"], workers=1)).to_dict()
    result["dataset"]["path"] = str(view.path / "final" / "sft.jsonl")
    return QDC(result, None, "measured for this page with the default metrics except execution", command)


def qdc_rows(qdc: QDC) -> list[tuple[str, str, str, Any, str]]:
    """(group, metric, figure, value, arrow) headline rows, or none."""
    if qdc.report is None:
        return []
    from codealign.measure.report import summary_rows

    return summary_rows(qdc.report)
