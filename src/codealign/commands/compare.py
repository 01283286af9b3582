"""`codealign compare`: several datasets or runs side by side, with the quality-diversity trade-off."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare_command(
        inputs: list[Path] = typer.Argument(
            ..., help="Two or more datasets (run directories, JSONL/Parquet files) or `measure` report folders."
        ),
        out: Path = typer.Option(..., "-o", "--out", help="Folder for compare.html, compare.csv and compare.json."),
        names: str = typer.Option("", "--names", help="Comma-separated labels, one per input."),
        x: str = typer.Option("", "--x", help="Diversity axis of the scatter, METRIC.FIGURE (default: code Vendi on the sample)."),
        y: str = typer.Option("", "--y", help="Quality axis of the scatter, METRIC.FIGURE (default: execution pass rate)."),
        metrics: str = typer.Option("default", "--metrics", "-m", help="Metrics for inputs that are datasets."),
        skip: str = typer.Option("", "--skip", help="Metrics to leave out for inputs that are datasets."),
        field: list[str] = typer.Option([], "--field", "-f", help="NAME=dotted.path, for inputs that are datasets."),
        option: list[str] = typer.Option([], "--option", help="METRIC.KEY=VALUE, for inputs that are datasets."),
        sample_size: int = typer.Option(1000, "--sample-size", help="Records in the fixed-size sample."),
        workers: int = typer.Option(0, "--workers", "-w", help="Processes (0: one per CPU)."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder for executions and judge calls."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor store cached results."),
    ) -> None:
        """Compare datasets side by side: a table of every figure, distributions, and a quality-diversity scatter."""
        from codealign.measure.job import compare_job

        compare_job(
            inputs, out, names=names, x=x or None, y=y or None, metrics=metrics, skip=skip, fields=field,
            options=option, sample_size=sample_size, workers=workers or None, cache_dir=cache_dir, no_cache=no_cache,
        )
