"""`codealign decontaminate INPUT --fields F1,F2 -o OUT`: drop rows that contain benchmark text."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("decontaminate")
    def decontaminate(
        input: Path = typer.Argument(..., help="JSONL or Parquet file (or a folder of them)."),
        fields: str = typer.Option(..., "--fields", help="Comma-separated fields to check; dotted for nested."),
        output: Path = typer.Option(..., "-o", "--output", help="Output file (.jsonl or .parquet)."),
        benchmarks: str = typer.Option("humaneval", help="Comma-separated benchmarks."),
        ngram: int = typer.Option(10, help="Word n-gram length for overlap matching."),
        no_ngrams: bool = typer.Option(False, "--no-ngrams", help="Only normalised exact substrings."),
    ) -> None:
        """Remove rows containing benchmark prompts or solutions; a per-benchmark report goes next to the output."""
        from codealign.curate.tools import run_decontaminate

        names = [f.strip() for f in fields.split(",") if f.strip()]
        benches = [b.strip() for b in benchmarks.split(",") if b.strip()]
        run_decontaminate(input, output, names, benches, ngram=ngram, ngrams=not no_ngrams)
