"""The standalone dataset tools behind `codealign dedup` and `codealign decontaminate`, for any JSONL/Parquet rows.

Both keep row order and never hold the input: dedup reads JSONL once and copies kept rows by byte offset
(`codealign.curate.dedup_rows`); decontaminate streams rows through the checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codealign.curate.report import Funnel, progress_bar, side_path
from codealign.records import BadLine, get_field, iter_rows, require_fields, write_rows


def _report_bad(funnel: Funnel, step: str, bad: list[BadLine]) -> None:
    for b in bad:
        funnel.reject(step, f"bad input: {b.reason}", {"path": b.path, "line": b.lineno})


def run_dedup(
    input: str | Path,
    output: str | Path,
    field: str,
    threshold: float = 0.7,
    num_perm: int = 256,
    ngram: int = 5,
    exact_only: bool = False,
    workers: int = 1,
    show: bool = True,
    executor: Any = None,
) -> dict[str, Any]:
    """Exact then near dedup of `field`; the first row of each cluster is kept. Returns the funnel.

    JSONL input is read once: each row's byte span is kept, kept rows are copied as raw bytes, and the rejects
    file names each dropped row by path and line instead of copying it. `executor` (a `codealign.scale` executor
    config) runs the reading, hashing and LSH on a cluster with the same result.
    """
    from codealign.curate.dedup_rows import dedup_rows

    return dedup_rows(input, output, field, threshold=threshold, num_perm=num_perm, ngram=ngram,
                      exact_only=exact_only, workers=workers, show=show, executor=executor)  # fmt: skip


def run_decontaminate(
    input: str | Path,
    output: str | Path,
    fields: Sequence[str],
    benchmarks: Sequence[str] = ("humaneval",),
    ngram: int = 10,
    ngrams: bool = True,
    show: bool = True,
) -> dict[str, Any]:
    """Drop rows whose `fields` contain benchmark text; the per-benchmark report is written next to the output."""
    from codealign.curate.decontam import Decontaminator, DecontamReport

    t0 = time.perf_counter()
    out = Path(output)
    decon = Decontaminator(benchmarks, ngram=ngram, ngrams=ngrams)
    report = DecontamReport()
    funnel = Funnel(side_path(out, "rejects.jsonl"))
    bad: list[BadLine] = []
    ok = False
    try:
        with progress_bar() as bar:
            task = bar.add_task("checking", total=None, note=", ".join(benchmarks))

            def clean() -> Iterator[dict[str, Any]]:
                for i, row in enumerate(require_fields(iter_rows(input, bad), fields, input)):
                    bar.update(task, advance=1)
                    matches = []
                    for f in fields:
                        value = get_field(row, f)
                        if isinstance(value, str):
                            matches += [vars(m) | {"field": f} for m in decon.find(value)]
                    report.add([_as_match(m) for m in matches])
                    if matches:
                        m = matches[0]
                        reason = f"contaminated: {m['benchmark']} {m['task_id']} {m['kind']} in {m['field']}"
                        funnel.reject("decontaminate", reason, {"row": i + 1, "matches": matches, **row})
                    else:
                        funnel.keep("decontaminate")
                        yield row

            written = write_rows(out, clean())
            _report_bad(funnel, "decontaminate", bad)
        ok = True
    finally:
        funnel.close(ok)
    funnel.extra.update({"input": str(input), "output": str(out), "fields": list(fields), "written": written,
                         "decontamination": report.to_dict(), "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
    funnel.write_json(side_path(out, "decontam.json"))
    if show:
        funnel.print_summary(f"decontaminate: {written:,} rows -> {out}", time.perf_counter() - t0)
        _print_report(report)
        _print_bad(bad)
    return funnel.to_dict()


def _as_match(m: dict[str, Any]) -> Any:
    from codealign.curate.decontam import Match

    return Match(m["benchmark"], m["task_id"], m["kind"], m["snippet"])


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    data = report.to_dict()
    if not data["benchmarks"]:
        return
    table = Table(title="matches per benchmark", title_justify="left")
    for col in ("benchmark", "substring", "ngram", "tasks hit"):
        table.add_column(col)
    for name, e in data["benchmarks"].items():
        table.add_row(name, str(e["substring"]), str(e["ngram"]), str(len(e["tasks"])))
    Console(stderr=True).print(table)


def _print_bad(bad: list[BadLine]) -> None:
    if not bad:
        return
    from rich.console import Console

    from codealign.console import SkippedLines

    SkippedLines(Console(stderr=True)).report(bad)
