"""`codealign cache stats` and `codealign cache export`: look inside the store of LLM answers and executions."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(help="Inspect and export the cache of LLM answers and executions.", no_args_is_help=True)

    @cache_app.command("stats")
    def stats(
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR)."),
    ) -> None:
        """Entries and size per namespace, and LLM samples and tokens per model."""
        from codealign.llm.cache_tools import run_stats

        run_stats(cache_dir)

    @cache_app.command("export")
    def export(
        output: str = typer.Option(..., "-o", "--output", help="JSONL file to write, or - for stdout."),
        namespace: str = typer.Option("llm", "--namespace", "-n", help="llm (one row per sample, with its prompt), exec, ..."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR)."),
    ) -> None:
        """Write every entry of a namespace as JSONL."""
        from codealign.llm.cache_tools import run_export

        run_export(output, namespace, cache_dir)

    app.add_typer(cache_app, name="cache")
