"""Terminal side of `codealign exec` (and the helpers `codealign evaluate` shares): options, progress, summary."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codealign.cache import open_cache
from codealign.console import SkippedLines
from codealign.errors import ConfigError
from codealign.sandbox.types import Limits, Status

_STATUS_ORDER = [s.value for s in Status]


def _console() -> Console:
    return Console(stderr=True, highlight=False)


def _limits(timeout: float, memory_mb: int, **compiler: float | int | None) -> Limits:
    from pydantic import ValidationError

    try:
        return Limits(timeout=timeout, memory_mb=memory_mb, **compiler)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f}/s"),
        TextColumn("{task.fields[passed]} passed"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _summary(title: str, statuses: dict[str, int], extra: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("outcome")
    table.add_column("programs", justify="right")
    total = sum(statuses.values()) or 1
    for name in _STATUS_ORDER:
        if statuses.get(name):
            table.add_row(name, f"{statuses[name]} ({100 * statuses[name] / total:.1f}%)")
    table.add_section()
    for key, value in extra:
        table.add_row(key, value)
    return table


def _open_sandbox(workers: int, cache_dir: Path | None, no_cache: bool, isolation: str, allow: bool,
                  executor: Any = None, retry_timeouts: bool = False):  # fmt: skip
    """(cache, sandbox): a local pool, or with `executor` (a RayExecutor) one actor per node of the cluster."""
    from codealign.sandbox import Sandbox

    cache = open_cache(cache_dir, enabled=not no_cache)
    if executor is not None:
        from codealign.scale.sandbox import ClusterSandbox

        return cache, ClusterSandbox(executor, workers=workers or None, cache=cache, isolation_mode=isolation,
                                     allow_no_isolation=allow, retry_timeouts=retry_timeouts)  # fmt: skip
    return cache, Sandbox(workers=workers or os.cpu_count() or 1, cache=cache, isolation_mode=isolation,
                          allow_no_isolation=allow, retry_timeouts=retry_timeouts)  # fmt: skip


def cache_rows(cached: int, sandbox: Any) -> list[tuple[str, str]]:
    """Summary rows: how many outcomes came from the cache, and how many cached timeouts were run again."""
    rows = [("from cache", f"{cached:,}")]
    again = sandbox.stats.get("timeouts_retried", 0)
    if getattr(sandbox, "retry_timeouts", False):
        rows.append(("timeouts run again", f"{again:,}"))
    return rows


def _executor(config: Any) -> Any:
    """A RayExecutor for `--executor ray`, else None (the local pool)."""
    if config is None or config.type == "local":
        return None
    from codealign.scale.executor import RayExecutor

    return RayExecutor(config.ray)


def _where(executor: Any) -> list[tuple[str, str]]:
    if executor is None:
        return []
    nodes = executor.tasks_per_node
    return [("executor", f"ray: {len(nodes)} node(s), {', '.join(str(n) for n in nodes.values()) or 0} batches")]


def run_exec_command(
    programs: Path, output: Path, workers: int, timeout: float, memory_mb: int, cache_dir: Path | None,
    no_cache: bool, isolation: str, allow_no_isolation: bool, compile_timeout: float | None = None,
    compile_memory_mb: int | None = None, executor: Any = None, retry_timeouts: bool = False,
) -> None:  # fmt: skip
    from codealign.sandbox.jobs import count_lines, run_exec

    console = _console()
    defaults = _limits(timeout, memory_mb, compile_timeout=compile_timeout, compile_memory_mb=compile_memory_mb)
    if not programs.exists():
        raise ConfigError(f"programs file not found: {programs}")
    total = count_lines(programs)
    cluster = _executor(executor)
    cache, sandbox = _open_sandbox(workers, cache_dir, no_cache, isolation, allow_no_isolation, cluster,
                                   retry_timeouts)  # fmt: skip
    with contextlib.ExitStack() as stack:
        if cluster is not None:
            stack.enter_context(cluster)
        stack.enter_context(cache)
        stack.enter_context(sandbox)
        bar = stack.enter_context(_progress(console))
        task = bar.add_task("exec", total=total, rate=0.0, passed=0)
        state = {"done": 0, "passed": 0}

        def tick(outcome) -> None:
            state["done"] += 1
            state["passed"] += outcome.passed
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, advance=1, rate=state["done"] / elapsed, passed=state["passed"])

        skipped = SkippedLines(console)

        def bad(line) -> None:
            bar.update(task, advance=1)
            skipped(line)

        report = run_exec(programs, output, sandbox, defaults, on_outcome=tick, on_bad_line=bad)
    skipped.finish()
    rate = report.total / report.seconds if report.seconds else 0.0
    console.print(_summary(f"codealign exec: {report.total} programs -> {output}", dict(report.statuses), [
        *cache_rows(report.cached, sandbox),
        ("skipped lines", str(len(report.bad_lines))),
        ("isolation", report.isolation),
        *_where(cluster),
        ("time", f"{report.seconds:.1f} s ({rate:.1f} programs/s)"),
    ]))  # fmt: skip
