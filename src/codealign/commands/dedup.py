"""`codealign dedup INPUT --field F [--threshold T] -o OUT`: exact + near-duplicate removal on any JSONL/Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from codealign.commands.exec import EXECUTOR, RAY_ADDRESS, RAY_OPTION


def register(app: typer.Typer) -> None:
    @app.command("dedup")
    def dedup(
        input: Path = typer.Argument(..., help="JSONL or Parquet file (or a folder of them)."),
        field: str = typer.Option(..., "--field", "-f", help="Field to compare; dotted for nested (data.seed)."),
        output: Path = typer.Option(..., "-o", "--output", help="Output file (.jsonl or .parquet)."),
        threshold: float = typer.Option(0.7, help="Jaccard threshold over word 5-grams."),
        num_perm: int = typer.Option(256, help="MinHash permutations."),
        ngram: int = typer.Option(5, help="Words per shingle."),
        exact_only: bool = typer.Option(False, "--exact-only", help="Only remove exact duplicates."),
        workers: int = typer.Option(1, help="Processes for MinHash signatures."),
        executor: str = EXECUTOR,
        ray_address: str | None = RAY_ADDRESS,
        ray_option: list[str] | None = RAY_OPTION,
    ) -> None:
        """Remove exact and near duplicates; the first row of each cluster is kept, the others go to rejects."""
        from codealign.curate.tools import run_dedup
        from codealign.scale.config import executor_from_flags

        run_dedup(input, output, field, threshold=threshold, num_perm=num_perm, ngram=ngram,
                  exact_only=exact_only, workers=workers,
                  executor=executor_from_flags(executor, ray_address, ray_option))  # fmt: skip
