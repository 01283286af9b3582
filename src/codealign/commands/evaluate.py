"""`codealign evaluate`: pass@k of completions on a shipped benchmark, executed in the sandbox."""

from __future__ import annotations

from pathlib import Path

import typer

from codealign.commands.exec import ALLOW_NO_ISOLATION, CACHE_DIR, ISOLATION, NO_CACHE, WORKERS


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        benchmark: str = typer.Option("humaneval", "--benchmark", "-b", help="Benchmark to evaluate on."),
        samples: Path = typer.Option(
            ..., "--samples", "-s", help='JSONL of {"task_id", "completion"} (human-eval format).'
        ),
        k: str = typer.Option("1,10,100", "-k", help="Comma-separated k values for pass@k."),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="Per-sample results (default: SAMPLES_results.jsonl)."
        ),
        workers: int = WORKERS,
        timeout: float = typer.Option(3.0, "--timeout", help="Wall-clock seconds per sample."),
        memory_mb: int = typer.Option(4096, "--memory-mb", help="Address-space limit per sample, in MiB."),
        cache_dir: Path | None = CACHE_DIR,
        no_cache: bool = NO_CACHE,
        isolation: str = ISOLATION,
        allow_no_isolation: bool = ALLOW_NO_ISOLATION,
    ) -> None:
        """Execute completions against a benchmark's tests and print pass@k as JSON."""
        from codealign.sandbox.ui import run_evaluate_command

        run_evaluate_command(benchmark, samples, k, output, workers, timeout, memory_mb, cache_dir, no_cache,
                             isolation, allow_no_isolation)  # fmt: skip
