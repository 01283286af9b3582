"""`codealign measure`: quality, diversity and complexity of one dataset, as metrics.json and report.html."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("measure")
    def measure_command(
        data: Path = typer.Argument(..., help="A codealign run directory, or a JSONL/Parquet file (or folder of them)."),
        out: Path = typer.Option(..., "-o", "--out", help="Report folder: metrics.json and report.html go here."),
        metrics: str = typer.Option(
            "default", "--metrics", "-m",
            help="Comma-separated metric names; 'default' = all that need no model, 'all' = every one.",
        ),
        skip: str = typer.Option("", "--skip", help="Comma-separated metric names to leave out (e.g. execution)."),
        field: list[str] = typer.Option(
            [], "--field", "-f", help="Where a field lives: NAME=dotted.path (instruction, response, tests, code, "
            "concepts, category, difficulty). Repeatable.",
        ),
        option: list[str] = typer.Option(
            [], "--option", help="A metric option: METRIC.KEY=VALUE, e.g. vendi.dim=4096 or llm_quality.model=m."
        ),
        sample_size: int = typer.Option(1000, "--sample-size", help="Records in the fixed-size sample."),
        seed: int = typer.Option(0, "--seed", help="Seed of the sample."),
        workers: int = typer.Option(0, "--workers", "-w", help="Processes (0: one per CPU)."),
        limit: int = typer.Option(0, "--limit", help="Measure only the first N records (0: all)."),
        name: str = typer.Option("", "--name", help="Label of the dataset in the report (default: file name)."),
        per_item: bool = typer.Option(False, "--per-item", help="Also write per_item.jsonl with each record's values."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder for executions and judge calls."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor store cached results."),
    ) -> None:
        """Measure a dataset's quality, diversity and complexity; write metrics.json and report.html."""
        from codealign.measure.job import measure_job

        measure_job(
            data, out, metrics=metrics, skip=skip, fields=field, options=option, sample_size=sample_size, seed=seed,
            workers=workers or None, limit=limit or None, name=name or None, per_item=per_item,
            cache_dir=cache_dir, no_cache=no_cache,
        )
