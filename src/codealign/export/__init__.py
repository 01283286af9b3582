"""Sharing a run: its report page (`report.html`) and its data as a Hugging Face dataset with a card.

    from codealign.export import write_report, export_run
    write_report("runs/demo")                                   # runs/demo/report.html
    export_run("runs/demo", "out/demo-dataset", fmt="parquet")  # data/ + README.md (the dataset card)

Both read only the run directory's files, so they work on any finished run, also one made elsewhere.
"""

from __future__ import annotations

from typing import Any

__all__ = ["export_run", "write_report"]


def write_report(*args: Any, **kwargs: Any) -> Any:
    from codealign.export.report import write_report as impl

    return impl(*args, **kwargs)


def export_run(*args: Any, **kwargs: Any) -> Any:
    from codealign.export.dataset import export_run as impl

    return impl(*args, **kwargs)
