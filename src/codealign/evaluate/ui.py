"""Terminal side of `codealign evaluate`: flags to a benchmark, a backend and a sandbox; progress; summary; files."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError
from codealign.sandbox.ui import (
    _console,
    _executor,
    _limits,
    _open_sandbox,
    _progress,
    _summary,
    _where,
    cache_rows,
)


def backend_config(model: str | None, base_url: str | None, backend_file: Path | None, mode: str | None) -> Any:
    """`--model PATH` alone: transformers; with `--base-url`: openai; `--backend FILE.yaml`: that block (the flags
    given with it override its keys)."""
    from codealign.config import build
    from codealign.llm import BackendConfig

    block: dict[str, Any] = {}
    if backend_file is not None:
        import yaml

        if not backend_file.exists():
            raise ConfigError(f"backend file not found: {backend_file}")
        loaded = yaml.safe_load(backend_file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{backend_file}: expected a mapping of backend keys (type, model, base_url, ...)")
        block = dict(loaded.get("backend", loaded))
    if model is not None:
        block["model"] = model
    if base_url is not None:
        block["base_url"] = base_url
        block.setdefault("type", "openai")
    if mode is not None:
        block["mode"] = mode
    if "model" not in block:
        raise ConfigError("--model is needed (a local model folder, or the served model's name with --base-url), "
                          "or --backend FILE.yaml, or --samples FILE to score samples you already have")  # fmt: skip
    block.setdefault("type", "openai" if block.get("base_url") else "transformers")
    config = build(BackendConfig, block, str(backend_file) if backend_file else "backend options")
    local = str(config.model).startswith(("/", "./", "../", "~"))
    if config.type in ("transformers", "vllm") and local and not Path(config.model).expanduser().exists():
        raise ConfigError(f"model path not found: {config.model}")  # before the sandbox and torch start
    return config


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text.strip("/").rsplit("/", 2)[-1] if "/" in text else text).strip("-")


def default_output(bench_label: str, model: str, mode: str) -> Path:
    name = bench_label if not bench_label.startswith("jsonl:") else "jsonl-" + Path(bench_label[6:]).stem
    return Path("evaluations") / f"{_slug(name)}--{_slug(model)}--{mode}.jsonl"


def run_model_command(opts: dict[str, Any]) -> None:
    """`codealign evaluate --model ...`: generate, execute, write rows + summary + report, print pass@k."""
    from codealign.evaluate.base import get_benchmark
    from codealign.evaluate.job import EvalSettings, check_mode, evaluate_model
    from codealign.evaluate.passk import parse_ks
    from codealign.evaluate.report import render
    from codealign.records import write_jsonl
    from codealign.scale.executor import open_backend

    console = _console()
    config = backend_config(opts["model"], opts["base_url"], opts["backend"], opts["mode"])
    bench = get_benchmark(opts["benchmark"], opts["data"])
    settings = EvalSettings(
        mode=config.mode, n=opts["n"], temperature=opts["temperature"], max_tokens=opts["max_tokens"],
        ks=tuple(parse_ks(opts["k"] or "1,10,100")), timeout=opts["timeout"], memory_mb=opts["memory_mb"],
    )  # fmt: skip
    _limits(settings.timeout or bench.timeout, settings.memory_mb)
    check_mode(bench, settings.mode)
    bench.bind_model(config)
    tasks = bench.tasks()
    output = opts["output"] or default_output(bench.label, config.model, settings.mode)
    overlap = None
    if opts["train_data"] is not None:
        from codealign.evaluate.overlap import train_overlap

        with console.status("checking the training data for benchmark tasks"):
            overlap = train_overlap(bench, opts["train_data"])
    total = len(tasks) * settings.n
    cluster = _executor(opts.get("executor"))
    cache, sandbox = _open_sandbox(opts["workers"], opts["cache_dir"], opts["no_cache"], opts["isolation"],
                                   opts["allow_no_isolation"], cluster, opts.get("retry_timeouts", False))  # fmt: skip
    with contextlib.ExitStack() as stack:
        if cluster is not None:
            stack.enter_context(cluster)
        stack.enter_context(cache)
        backend = open_backend(config, cache, cluster)
        with sandbox, backend, _progress(console) as bar:
            gen = bar.add_task("generate", total=total, rate=0.0, passed="-")
            run = bar.add_task("execute", total=total, rate=0.0, passed=0)
            state = {"passed": 0, "done": 0, "made": 0}

            def generated(count: int) -> None:
                state["made"] += count
                elapsed = bar.tasks[gen].elapsed or 1e-9
                bar.update(gen, advance=count, rate=state["made"] / elapsed)

            def executed(sample: Any) -> None:
                state["done"] += 1
                state["passed"] += sample.passed
                elapsed = bar.tasks[run].elapsed or 1e-9
                bar.update(run, advance=1, rate=state["done"] / elapsed, passed=state["passed"])

            result = evaluate_model(bench, backend, sandbox, settings, on_generated=generated, on_executed=executed)
    result.overlap = overlap
    write_jsonl(output, (s.row() for s in result.samples))
    summary_path = output.with_name(output.name.removesuffix(".jsonl") + ".summary.json")
    report_path = output.with_name(output.name.removesuffix(".jsonl") + ".html")
    from codealign.records import AtomicWriter

    with AtomicWriter(summary_path) as fh:
        fh.write(json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")
    render(result, report_path)
    _print_summary(console, result, output, summary_path, report_path, sandbox.isolation, opts["k"] is not None)
    sys.stdout.write(json.dumps(result.pass_at_k) + "\n")


def _print_summary(console: Any, result: Any, output: Path, summary_path: Path, report_path: Path,
                   isolation: str, ks_given: bool) -> None:  # fmt: skip
    ks = result.settings.ks
    per_task = result.per_task()
    extra = [(key, f"{value:.4f}") for key, value in result.pass_at_k.items()]
    extra += _by_language(result.pass_at_k_by_language)
    extra += [
        ("tasks", f"{len(per_task)} of {len(result.tasks)}"),
        ("samples", f"{len(result.samples)} ({result.from_cache} answers from the cache)"),
        ("isolation", isolation),
        ("time", f"{result.seconds:.1f} s"),
        ("results", str(output)),
        ("report", str(report_path)),
        ("summary", str(summary_path)),
    ]
    console.print(_summary(f"codealign evaluate: {result.benchmark['name']}", dict(result.statuses), extra))
    dropped = [k for k in ks if f"pass@{k}" not in result.pass_at_k]
    if dropped and ks_given:
        console.print(f"[yellow]note:[/] pass@{', pass@'.join(map(str, dropped))} left out: needs at least that "
                      f"many samples per task (-n {result.settings.n})")  # fmt: skip
    failed = result.failed_requests()
    if failed:
        console.print(f"[yellow]note:[/] {len(failed)} request(s) failed after retries (first: "
                      f"{next(iter(failed.values()))}); run the same command again to ask for them")  # fmt: skip
    if result.overlap is not None:
        hits = result.overlap["tasks"]
        shown = ", ".join(list(hits)[:8]) + (" ..." if len(hits) > 8 else "")
        console.print(f"training-data overlap: {len(hits)} of {len(result.tasks)} task(s) appear in "
                      f"{result.overlap['train_data']}" + (f": {shown}" if hits else ""))  # fmt: skip


def _by_language(figures: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    return [(f"{key} {language}", f"{value:.4f}") for language, values in figures.items() for key, value in values.items()]


def run_samples_command(
    benchmark: str, data: Path | None, samples: Path, k: str, output: Path | None, workers: int,
    timeout: float | None, memory_mb: int, cache_dir: Path | None, no_cache: bool, isolation: str,
    allow_no_isolation: bool, executor: Any = None, retry_timeouts: bool = False,
) -> None:  # fmt: skip
    """`codealign evaluate --samples FILE`: score samples written by something else."""
    from codealign.evaluate.base import get_benchmark
    from codealign.evaluate.humaneval import evaluate_samples
    from codealign.evaluate.passk import parse_ks
    from codealign.sandbox.jobs import count_lines

    console = _console()
    ks = parse_ks(k)
    bench = get_benchmark(benchmark, data)
    bench.tasks()  # fails early, with the fix, on an unknown, missing or tampered benchmark
    limits = _limits(timeout or bench.timeout, memory_mb)
    if not samples.exists():
        raise ConfigError(f"samples file not found: {samples}")
    if output is None:
        output = samples.with_name(samples.name.removesuffix(".jsonl") + "_results.jsonl")
    total = count_lines(samples)
    cluster = _executor(executor)
    cache, sandbox = _open_sandbox(workers, cache_dir, no_cache, isolation, allow_no_isolation, cluster,
                                   retry_timeouts)  # fmt: skip
    with contextlib.ExitStack() as stack:
        if cluster is not None:
            stack.enter_context(cluster)
        stack.enter_context(cache)
        stack.enter_context(sandbox)
        bar = stack.enter_context(_progress(console))
        task = bar.add_task(bench.label, total=total, rate=0.0, passed=0)
        state = {"done": 0, "passed": 0, "cached": 0}

        def tick(outcome: Any) -> None:
            state["done"] += 1
            state["passed"] += outcome.passed
            state["cached"] += outcome.cached
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, advance=1, rate=state["done"] / elapsed, passed=state["passed"])

        report = evaluate_samples(samples, sandbox, benchmark=bench, ks=ks, output=output, limits=limits,
                                  on_outcome=tick)  # fmt: skip
    from codealign.console import SkippedLines

    SkippedLines(console).report(report.bad_lines)
    dropped = [kk for kk in ks if f"pass@{kk}" not in report.pass_at_k]
    extra = [(key, f"{value:.4f}") for key, value in report.pass_at_k.items()]
    extra += _by_language(report.pass_at_k_by_language)
    extra += [
        ("tasks", f"{report.tasks} of {report.tasks + report.missing_tasks}"),
        ("samples", str(report.samples)),
        *cache_rows(state["cached"], sandbox),
        ("skipped lines", str(len(report.bad_lines))),
        ("isolation", report.isolation),
        *_where(cluster),
        ("time", f"{report.seconds:.1f} s"),
        ("results", str(output)),
    ]
    console.print(_summary(f"codealign evaluate: {bench.label}", dict(report.statuses), extra))
    if dropped:
        console.print(
            f"[yellow]note:[/] pass@{', pass@'.join(map(str, dropped))} left out: some task has fewer samples"
        )
    if report.missing_tasks:
        console.print(f"[yellow]note:[/] {report.missing_tasks} task(s) have no samples; pass@k is over the rest")
    sys.stdout.write(json.dumps(report.pass_at_k) + "\n")
