"""Quality, diversity and complexity (QDC) of an instruction dataset: metrics, the measurement runner, reports.

    from codealign.measure import load_dataset, measure
    m = measure(load_dataset("run_dir"))          # every default metric
    m.write("report/"); render_report(m.to_dict(), "report/report.html")
"""

from __future__ import annotations

from codealign.measure.data import Dataset, FieldMap, Item, dataset_from_rows, load_dataset
from codealign.measure.report import render_report
from codealign.measure.runner import MeasureConfig, Measurement, measure

__all__ = [
    "Dataset",
    "FieldMap",
    "Item",
    "MeasureConfig",
    "Measurement",
    "dataset_from_rows",
    "load_dataset",
    "measure",
    "render_report",
]
