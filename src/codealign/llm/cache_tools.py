"""What `codealign cache stats` and `codealign cache export` do: read the store and report or dump it."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from codealign.llm.backend import NS, PROMPT_NS


def llm_rows(cache: Any) -> Any:
    """Each cached LLM sample as one flat row, with the prompt or messages it answers."""
    prompts = {key: value for _, key, value, _ in cache.iter_entries(PROMPT_NS)}
    for _, key, value, created in cache.iter_entries(NS):
        row = {"key": key, "model": value.get("model"), "sample": value.get("sample")}
        row.update(prompts.get(value.get("prompt"), {"mode": None}))
        row.update({k: value.get(k) for k in ("text", "finish_reason", "prompt_tokens", "completion_tokens")})
        row["created"] = created
        yield row


def cache_stats(cache: Any) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """Per-namespace entries/bytes/dates, and per-model sample and token counts for the LLM namespace."""
    models: dict[str, Counter] = defaultdict(Counter)
    for _, _, value, _ in cache.iter_entries(NS):
        counts = models[str(value.get("model"))]
        counts["samples"] += 1
        counts["completion_tokens"] += int(value.get("completion_tokens") or 0)
        if value.get("sample") == 0:
            counts["prompt_tokens"] += int(value.get("prompt_tokens") or 0)
    return cache.stats(), {m: dict(c) for m, c in models.items()}


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def run_stats(cache_dir: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from codealign.cache import Cache

    with Cache(cache_dir, repair=False) as cache:
        spaces, models = cache_stats(cache)
        path = cache.path
    console = Console()
    table = Table(title=f"cache {path}")
    for col in ("namespace", "entries", "MiB", "first", "last"):
        table.add_column(col, justify="left" if col in ("namespace", "first", "last") else "right")
    for ns, s in sorted(spaces.items()):
        table.add_row(ns, f"{int(s['entries']):,}", f"{s['bytes'] / 2**20:,.2f}", _when(s["first"]), _when(s["last"]))
    if not spaces:
        table.add_row("(empty)", "0", "0", "-", "-")
    console.print(table)
    if models:
        by_model = Table(title="LLM samples by model")
        for col in ("model", "samples", "prompt tokens", "completion tokens"):
            by_model.add_column(col, justify="left" if col == "model" else "right")
        for model, c in sorted(models.items()):
            by_model.add_row(model, f"{c.get('samples', 0):,}", f"{c.get('prompt_tokens', 0):,}",
                             f"{c.get('completion_tokens', 0):,}")
        console.print(by_model)


def run_export(output: str, namespace: str, cache_dir: Path | None) -> int:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from codealign.cache import Cache
    from codealign.records import AtomicWriter

    console = Console(stderr=True)
    with Cache(cache_dir, repair=False) as cache:
        rows = llm_rows(cache) if namespace == NS else (
            {"ns": ns, "key": key, "value": value, "created": created}
            for ns, key, value, created in cache.iter_entries(namespace)
        )
        count = 0
        with Progress(SpinnerColumn(), TextColumn("exporting {task.fields[ns]}: {task.completed:,} rows"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("export", ns=namespace, total=None)
            if output == "-":
                for row in rows:
                    sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
                    progress.advance(task)
            else:
                with AtomicWriter(output) as fh:
                    for row in rows:
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                        count += 1
                        progress.advance(task)
    from rich.table import Table

    table = Table(title="cache export")
    table.add_column("namespace")
    table.add_column("rows", justify="right")
    table.add_column("written to")
    table.add_row(namespace, f"{count:,}", output if output != "-" else "stdout")
    console.print(table)
    return count
