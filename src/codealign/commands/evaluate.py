"""`codealign evaluate`: pass@k of completions on a shipped benchmark, executed in the sandbox."""

from __future__ import annotations

from pathlib import Path

import typer

from codealign.commands.exec import ISOLATION_HELP


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
        workers: int = typer.Option(0, "--workers", "-w", help="Parallel workers (0: one per CPU)."),
        timeout: float = typer.Option(3.0, "--timeout", help="Wall-clock seconds per sample."),
        memory_mb: int = typer.Option(4096, "--memory-mb", help="Address-space limit per sample, in MiB."),
        cache_dir: Path | None = typer.Option(
            None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR)."
        ),
        no_cache: bool = typer.Option(
            False, "--no-cache", help="Execute everything; read and store nothing."
        ),
        isolation: str = typer.Option("auto", "--isolation", help=ISOLATION_HELP),
        allow_no_isolation: bool = typer.Option(
            False, "--allow-no-isolation", help="Run even without namespaces."
        ),
    ) -> None:
        """Execute completions against a benchmark's tests and print pass@k as JSON."""
        from codealign.sandbox.ui import run_evaluate_command

        run_evaluate_command(benchmark, samples, k, output, workers, timeout, memory_mb, cache_dir, no_cache,
                             isolation, allow_no_isolation)  # fmt: skip
