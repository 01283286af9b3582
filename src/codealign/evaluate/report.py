"""The evaluation report: one self-contained HTML page (inline CSS and SVG, no scripts) from an EvalResult.

Headline pass@k, outcomes by kind, a grid with one row per task and one cell per sample (hover for the error),
token and time histograms, the failed requests, the training-data overlap, and each failing task's first program.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from codealign.evaluate.job import EvalResult
from codealign.measure.report import page
from codealign.measure.svg import PALETTE, bars, fmt, histogram
from codealign.records import AtomicWriter

COLORS = {"passed": PALETTE[2], "failed": PALETTE[3], "timeout": PALETTE[1], "memory": PALETTE[4],
          "syntax": PALETTE[5], "crashed": PALETTE[6], "sandbox_error": PALETTE[7]}  # fmt: skip
CSS = """
.grid td{padding:1px 6px;font-size:12px}.cells{display:flex;flex-wrap:wrap;gap:2px;max-width:720px}
.cell{display:inline-block;width:11px;height:11px;border-radius:2px}.legend span{margin-right:12px;font-size:12px}
pre{background:#f0f2f5;padding:8px;font-size:12px;overflow-x:auto;max-height:320px}details{margin:4px 0}
"""


def _histogram(values: list[float], label: str, xlabel: str, bins: int = 20) -> str:
    if not values:
        return ""
    # Up to the 99th percentile, the tail in the last bar, so one slow outlier does not flatten the rest.
    ordered = sorted(values)
    lo, hi = ordered[0], ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    if hi <= lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    return histogram([lo + i * step for i in range(bins + 1)], counts, label, xlabel=xlabel)


def render(result: EvalResult, path: str | os.PathLike) -> Path:
    summary = result.summary()
    by_task: dict[str, list[Any]] = {}
    for s in result.samples:
        by_task.setdefault(s.task_id, []).append(s)
    per_task = result.per_task()
    body = ["<h2>Summary</h2><table class='summary'>"]
    for key, value in result.pass_at_k.items():
        body.append(f"<tr><td>{escape(key)}</td><td class='num'>{value:.4f}</td></tr>")
    rows = [
        ("tasks scored", f"{len(per_task)} of {len(result.tasks)}"),
        ("samples", f"{len(result.samples):,} ({result.from_cache:,} answers from the cache, "
                    f"{result.generated:,} generated)"),
        ("tokens", f"{summary['tokens']['prompt']:,} prompt, {summary['tokens']['completion']:,} completion"),
        ("time", f"{result.seconds:.1f} s"),
    ]  # fmt: skip
    body += [f"<tr><td>{escape(k)}</td><td class='num'>{escape(v)}</td></tr>" for k, v in rows]
    body.append("</table>")
    statuses = {k: v for k, v in sorted(result.statuses.items(), key=lambda kv: -kv[1])}
    plots = [bars(statuses, "outcomes by kind", color=PALETTE[0]) if statuses else ""]
    plots.append(_histogram([s.completion_tokens for s in result.task_stats.values()], "completion tokens per task",
                            "tokens"))  # fmt: skip
    plots.append(_histogram([s.latency for s in result.task_stats.values() if not s.cached], "generation time per task",
                            "seconds (answers not from the cache)"))  # fmt: skip
    plots.append(_histogram([s.duration for s in result.samples], "execution time per sample", "seconds"))
    body.append("<div class='plots'>" + "".join(p for p in plots if p) + "</div>")

    failed = result.failed_requests()
    if failed:
        body.append(f"<h2>Failed requests ({len(failed)})</h2><p class='note'>These tasks are missing samples; run "
                    "the same command again to ask for them.</p><table>")  # fmt: skip
        body += [f"<tr><td>{escape(t)}</td><td>{escape(e)}</td></tr>" for t, e in failed.items()]
        body.append("</table>")
    if result.overlap is not None:
        body.append(_overlap(result.overlap))

    legend = "".join(f"<span><i class='cell' style='background:{c}'></i> {escape(k)}</span>"
                     for k, c in COLORS.items() if k in statuses)  # fmt: skip
    body.append(f"<h2>Per task</h2><p class='legend'>{legend}</p><table class='grid'>"
                "<tr><th>task</th><th>passed</th><th>samples</th></tr>")  # fmt: skip
    for task in result.tasks:
        samples = by_task.get(task.task_id, [])
        n, c = per_task.get(task.task_id, (0, 0))
        cells = "".join(f"<i class='cell' style='background:{COLORS.get(s.outcome, '#999')}' "
                        f"title='{escape(_cell_title(s), quote=True)}'></i>" for s in samples)  # fmt: skip
        body.append(f"<tr><td>{escape(task.task_id)}</td><td class='num'>{c}/{n}</td>"
                    f"<td><span class='cells'>{cells}</span></td></tr>")  # fmt: skip
    body.append("</table>")

    failing = [ss[0] for t, ss in by_task.items() if ss and not any(s.passed for s in ss)]
    if failing:
        body.append(f"<h2>Failing tasks: first sample ({len(failing)})</h2>")
        for s in failing[:200]:
            body.append(
                f"<details><summary>{escape(s.task_id)}: {escape(s.outcome)} {escape(s.error_type or '')} "
                f"{escape((s.error or '')[:200])}</summary><p class='muted'>program</p><pre>{escape(s.program)}</pre>"
                f"<p class='muted'>model text</p><pre>{escape(s.raw)}</pre></details>"
            )
    settings = result.settings
    bench = result.benchmark
    subtitle = [
        f"benchmark <code>{escape(bench['name'])}</code> {escape(str(bench.get('version', '')))}, "
        f"sha256 {escape(str(bench.get('sha256', ''))[:16])}…, {bench.get('size', 0)} tasks ({escape(str(bench.get('source', '')))})",
        f"model <code>{escape(str(result.model.get('name')))}</code> via {escape(str(result.model.get('backend')))}; "
        f"{escape(settings.mode)} mode, n={settings.n}, temperature {fmt(settings.temperature)}, "
        f"max {settings.max_tokens} tokens",
    ]  # fmt: skip
    html = page(f"codealign evaluate: {bench['name']}", subtitle, "".join(body)).replace("</style>", CSS + "</style>")
    out = Path(path)
    with AtomicWriter(out) as fh:
        fh.write(html)
    return out


def _cell_title(sample: Any) -> str:
    title = f"sample {sample.sample}: {sample.outcome}"
    if not sample.passed and (sample.error_type or sample.error):
        title += f": {sample.error_type or ''} {(sample.error or '')[:160]}"
    return title


def _overlap(overlap: dict[str, Any]) -> str:
    tasks = overlap.get("tasks", {})
    parts = [f"<h2>Training-data overlap</h2><p>{overlap.get('rows_checked', 0):,} row(s) of "
             f"<code>{escape(str(overlap.get('train_data')))}</code> checked; {len(tasks)} benchmark task(s) appear "
             "in them (normalised substrings of prompts or solutions, or shared word n-grams).</p>"]  # fmt: skip
    if tasks:
        parts.append("<table><tr><th>task</th><th>rows</th><th>kinds</th><th>example</th></tr>")
        for task_id, hit in tasks.items():
            parts.append(f"<tr><td>{escape(task_id)}</td><td class='num'>{hit['rows']}</td>"
                         f"<td>{escape(', '.join(hit['kinds']))}</td><td><code>{escape(hit['example'][:120])}</code></td></tr>")  # fmt: skip
        parts.append("</table>")
    return "".join(parts)
