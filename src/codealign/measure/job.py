"""The `measure` and `compare` jobs as the CLI runs them: parse flags, show progress, write files, print a summary."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from codealign.config import apply_overrides, build
from codealign.errors import ConfigError
from codealign.measure.svg import fmt


def parse_fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, path = pair.partition("=")
        if not sep or not key.strip() or not path.strip():
            raise ConfigError(f"--field {pair!r} must look like NAME=dotted.path, e.g. instruction=data.prompt")
        out[key.strip()] = path.strip()
    return out


def parse_options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """`metric.key=value` flags -> {metric: {key: value}} (values read as YAML: numbers, booleans, strings)."""
    data: dict[str, Any] = {}
    for pair in pairs:
        dotted = pair.partition("=")[0]
        if dotted.count(".") != 1:
            raise ConfigError(f"--option {pair!r} must look like METRIC.KEY=VALUE, e.g. vendi.dim=4096")
    apply_overrides(data, pairs)
    return data


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@contextlib.contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), transient=False,
    ) as bar:

        def start(label: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda k: bar.advance(task, k)

        yield start


def measure_job(
    data: Path,
    out: Path,
    *,
    metrics: str = "default",
    skip: str = "",
    fields: list[str] | None = None,
    options: list[str] | None = None,
    sample_size: int = 1000,
    seed: int = 0,
    workers: int | None = None,
    limit: int | None = None,
    name: str | None = None,
    per_item: bool = False,
    cache_dir: Path | None = None,
    no_cache: bool = False,
) -> dict[str, Any]:
    from rich.console import Console

    from codealign.cache import open_cache
    from codealign.console import SkippedLines
    from codealign.measure.data import load_dataset
    from codealign.measure.report import render_report
    from codealign.measure.runner import MeasureConfig, measure, select_metrics

    config = build(
        MeasureConfig,
        {
            "metrics": _csv(metrics) or ["default"], "skip": _csv(skip), "options": parse_options(options or []),
            "fields": parse_fields(fields or []), "sample_size": sample_size, "seed": seed, "workers": workers,
            "limit": limit,
        },
        source="measure options",
    )
    chosen = select_metrics(config)  # unknown names and missing extras fail before any reading
    dataset = load_dataset(data, config.fields, limit=config.limit, name=name)
    console = Console(stderr=True)
    SkippedLines(console, shown=5).report(dataset.bad_lines)
    cache = open_cache(cache_dir, enabled=not no_cache)
    try:
        with progress_bars() as bars:
            result = measure(dataset, config, cache=cache, progress=bars, metrics=chosen)
    finally:
        close = getattr(cache, "close", None)
        if close:
            close()
    result.write(out, per_item=per_item)
    report = result.to_dict()
    render_report(report, Path(out) / "report.html")
    print_summary(report, console)
    console.print(f"wrote {Path(out) / 'metrics.json'} and {Path(out) / 'report.html'}", highlight=False)
    return report


def print_summary(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"{report['dataset']['name']}: {report['dataset']['records']:,} records")
    for col in ("group", "metric", "figure", "value", "s"):
        table.add_column(col, justify="right" if col in ("value", "s") else "left", no_wrap=col == "figure")
    for name, m in report["metrics"].items():
        keys = [k for k in m.get("headline", []) if k in m["values"]] or list(m["values"])[:1]
        for i, key in enumerate(keys):
            table.add_row(
                m["group"] if i == 0 else "", name if i == 0 else "", key, fmt(m["values"][key]),
                fmt(m["seconds"]) if i == 0 else "",
            )
    console.print(table)
    for name, reason in report.get("skipped", {}).items():
        console.print(f"[dim]not measured:[/] {name}: {reason}", highlight=False)


def compare_job(
    inputs: list[Path],
    out: Path,
    *,
    names: str = "",
    x: str | None = None,
    y: str | None = None,
    **measure_options: Any,
) -> dict[str, Path]:
    """Measure each input that is a dataset (into OUT/<name>/), load each that is a report, and compare them all."""
    from rich.console import Console

    from codealign.measure.compare import load_report, smallest_common_size, write_comparison

    labels = _csv(names)
    if len(inputs) < 2:
        raise ConfigError("compare needs at least two inputs")
    if labels and len(labels) != len(inputs):
        raise ConfigError(f"--names gives {len(labels)} labels for {len(inputs)} inputs")
    reports = []
    for i, path in enumerate(inputs):
        label = labels[i] if labels else None
        if (Path(path) / "metrics.json").exists() or Path(path).name == "metrics.json":
            report = load_report(path)
            if label:
                report["dataset"]["name"] = label
        else:
            slug = label or (Path(path).name if Path(path).is_dir() else Path(path).stem)
            report = measure_job(Path(path), Path(out) / f"{i + 1}-{slug}", name=label, **measure_options)
        reports.append(report)
    written = write_comparison(reports, out, x=x, y=y)
    console = Console(stderr=True)
    Console().print(comparison_table(reports))
    smallest = smallest_common_size(reports)
    if smallest is not None:
        console.print(f"[yellow]note:[/] figures that depend on how many records they saw (Vendi, distinct-n, "
                      f"compression) are marked not comparable: the inputs were measured on different numbers of "
                      f"records; measure them with --sample-size {smallest} to compare them at the smallest common "
                      "size", highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"wrote {written['html']}, {written['csv']} and {written['json']}", highlight=False)
    return written


def comparison_table(reports: list[dict[str, Any]]) -> Any:
    """Every figure of the comparison, one column per input; figures that do not compare say why."""
    from rich.table import Table

    from codealign.measure.compare import rows

    names = [r["dataset"]["name"] for r in reports]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    table = Table(title=" vs ".join(f"{n} ({r['dataset']['records']:,})" for n, r in zip(names, reports, strict=True)))
    table.add_column("group")
    table.add_column("figure", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("note")
    last = None
    for row in rows(reports):
        group = row["group"] if row["group"] != last else ""
        last = row["group"]
        table.add_row(group, f"{row['metric']}.{row['figure']}", *(fmt(v) for v in row["values"]), row["note"])
    return table
