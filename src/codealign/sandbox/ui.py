"""Terminal side of `codealign exec` and `codealign evaluate`: options to objects, a progress bar, a summary table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codealign.cache import open_cache
from codealign.errors import ConfigError
from codealign.sandbox.types import Limits, Status

_STATUS_ORDER = [s.value for s in Status]


def _console() -> Console:
    return Console(stderr=True, highlight=False)


def _limits(timeout: float, memory_mb: int) -> Limits:
    from pydantic import ValidationError

    try:
        return Limits(timeout=timeout, memory_mb=memory_mb)
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


def _open_sandbox(workers: int, cache_dir: Path | None, no_cache: bool, isolation: str, allow: bool):
    from codealign.sandbox import Sandbox

    cache = open_cache(cache_dir, enabled=not no_cache)
    return cache, Sandbox(workers=workers or os.cpu_count() or 1, cache=cache, isolation_mode=isolation,
                          allow_no_isolation=allow)  # fmt: skip


def run_exec_command(
    programs: Path, output: Path, workers: int, timeout: float, memory_mb: int, cache_dir: Path | None,
    no_cache: bool, isolation: str, allow_no_isolation: bool,
) -> None:  # fmt: skip
    from codealign.sandbox.jobs import count_lines, run_exec

    console = _console()
    defaults = _limits(timeout, memory_mb)
    if not programs.exists():
        raise ConfigError(f"programs file not found: {programs}")
    total = count_lines(programs)
    cache, sandbox = _open_sandbox(workers, cache_dir, no_cache, isolation, allow_no_isolation)
    with cache, sandbox, _progress(console) as bar:
        task = bar.add_task("exec", total=total, rate=0.0, passed=0)
        state = {"done": 0, "passed": 0}

        def tick(outcome) -> None:
            state["done"] += 1
            state["passed"] += outcome.passed
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, advance=1, rate=state["done"] / elapsed, passed=state["passed"])

        def bad(line) -> None:
            bar.update(task, advance=1)
            console.print(f"[yellow]skipped[/] {line.path}:{line.lineno}: {line.reason}")

        report = run_exec(programs, output, sandbox, defaults, on_outcome=tick, on_bad_line=bad)
    rate = report.total / report.seconds if report.seconds else 0.0
    console.print(_summary(f"codealign exec: {report.total} programs -> {output}", dict(report.statuses), [
        ("from cache", str(report.cached)),
        ("skipped lines", str(len(report.bad_lines))),
        ("isolation", report.isolation),
        ("time", f"{report.seconds:.1f} s ({rate:.1f} programs/s)"),
    ]))  # fmt: skip


def run_evaluate_command(
    benchmark: str, samples: Path, k: str, output: Path | None, workers: int, timeout: float, memory_mb: int,
    cache_dir: Path | None, no_cache: bool, isolation: str, allow_no_isolation: bool,
) -> None:  # fmt: skip
    from codealign.evaluate.benchmarks import load_benchmark
    from codealign.evaluate.humaneval import evaluate_samples
    from codealign.evaluate.passk import parse_ks

    console = _console()
    ks = parse_ks(k)
    limits = _limits(timeout, memory_mb)
    load_benchmark(benchmark)  # fails early, with the fix, on an unknown or tampered benchmark
    if not samples.exists():
        raise ConfigError(f"samples file not found: {samples}")
    if output is None:
        output = samples.with_name(samples.name.removesuffix(".jsonl") + "_results.jsonl")
    from codealign.sandbox.jobs import count_lines

    total = count_lines(samples)
    cache, sandbox = _open_sandbox(workers, cache_dir, no_cache, isolation, allow_no_isolation)
    with cache, sandbox, _progress(console) as bar:
        task = bar.add_task(benchmark, total=total, rate=0.0, passed=0)
        state = {"done": 0, "passed": 0}

        def tick(outcome) -> None:
            state["done"] += 1
            state["passed"] += outcome.passed
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, advance=1, rate=state["done"] / elapsed, passed=state["passed"])

        report = evaluate_samples(samples, sandbox, benchmark=benchmark, ks=ks, output=output, limits=limits,
                                  on_outcome=tick)  # fmt: skip
    for line in report.bad_lines:
        console.print(f"[yellow]skipped[/] {line.path}:{line.lineno}: {line.reason}")
    dropped = [kk for kk in ks if f"pass@{kk}" not in report.pass_at_k]
    extra = [(key, f"{value:.4f}") for key, value in report.pass_at_k.items()]
    extra += [
        ("tasks", f"{report.tasks} of {report.tasks + report.missing_tasks}"),
        ("samples", str(report.samples)),
        ("skipped lines", str(len(report.bad_lines))),
        ("isolation", report.isolation),
        ("time", f"{report.seconds:.1f} s"),
        ("results", str(output)),
    ]
    console.print(_summary(f"codealign evaluate: {benchmark}", dict(report.statuses), extra))
    if dropped:
        console.print(
            f"[yellow]note:[/] pass@{', pass@'.join(map(str, dropped))} left out: some task has fewer samples"
        )
    if report.missing_tasks:
        console.print(
            f"[yellow]note:[/] {report.missing_tasks} task(s) have no samples; pass@k is over the rest"
        )
    sys.stdout.write(json.dumps(report.pass_at_k) + "\n")
