"""`report.html` for one measurement: a self-contained page (inline CSS and SVG, no scripts) built from metrics.json."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from codealign.measure.svg import bars, fmt, histogram
from codealign.records import AtomicWriter

GROUPS = {
    "quality": "Quality: is each example right?",
    "diversity": "Diversity: how different are the examples from each other?",
    "complexity": "Complexity: how hard or rich is each example?",
}
ARROW = {"higher": "↑", "lower": "↓"}
CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9d1dc;font-size:13px}main{padding:8px 28px 40px;max-width:1280px}
h2{margin:28px 0 6px;font-size:18px;border-bottom:2px solid #d8dde5;padding-bottom:4px}
.cards{display:flex;flex-wrap:wrap;gap:14px}.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;
padding:12px 14px;flex:1 1 560px;max-width:820px}.card h3{margin:0 0 2px;font-size:15px}
.card .def{color:#555;font-size:12px;margin:2px 0 8px}.plots{display:flex;flex-wrap:wrap;gap:8px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}td,th{padding:3px 10px;text-align:left;
border-bottom:1px solid #eceff3}th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#8a5a00;font-size:12px}.muted{color:#777;font-size:12px}.summary td.num{font-weight:600}
code{background:#eef1f5;padding:0 3px;border-radius:3px}header code{background:#34405a;color:#fff}
"""


def page(title: str, subtitle: list[str], body: str, css: str = "") -> str:
    """A whole self-contained page: the shared style (plus `css`), a header with the title and subtitle lines."""
    subs = "".join(f"<p>{s}</p>" for s in subtitle)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}{css}</style></head>'
        f"<body><header><h1>{escape(title)}</h1>{subs}</header><main>{body}</main></body></html>"
    )


def headline_rows(report: dict[str, Any]) -> list[tuple[str, str, str, Any, str]]:
    """(group, metric, key, value, direction) for every metric's values that are not medians or bookkeeping."""
    rows = []
    for name, m in report["metrics"].items():
        for key, value in m["values"].items():
            if key in m["directions"] or key.endswith(".median"):
                rows.append((m["group"], name, key, value, m["directions"].get(key.removesuffix(".median"), "")))
    return rows


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, Any, str]]:
    """(group, metric, figure, value, arrow) for each metric's headline figures: the summary of a measurement."""
    rows = []
    for name, m in report["metrics"].items():
        for key in m.get("headline", [])[:3] or list(m["directions"])[:2]:
            if key in m["values"]:
                rows.append((m["group"], name, key, m["values"][key], ARROW.get(m["directions"].get(key, ""), "")))
    return rows


def summary_table(report: dict[str, Any], link: str | None = None) -> str:
    """The summary as an HTML table; metric names link to `link + name` when given."""
    trs = []
    for group, name, key, value, arrow in summary_rows(report):
        label = f'<a href="{escape(link + name)}">{escape(name)}</a>' if link is not None else escape(name)
        trs.append(f'<tr><td>{group}</td><td>{label}</td><td><code>{escape(key)}</code> {arrow}</td>'
                   f'<td class="num">{fmt(value)}</td></tr>')
    return (f'<table class="summary"><tr><th>group</th><th>metric</th><th>figure</th><th>value</th></tr>'
            f'{"".join(trs)}</table>')


def _values_table(m: dict[str, Any]) -> str:
    rows = []
    for key, value in m["values"].items():
        arrow = ARROW.get(m["directions"].get(key.removesuffix(".median"), ""), "")
        rows.append(f'<tr><td><code>{escape(key)}</code> {arrow}</td><td class="num">{fmt(value)}</td></tr>')
    return f"<table><tr><th>figure</th><th>value</th></tr>{''.join(rows)}</table>"


def _metric_card(name: str, m: dict[str, Any]) -> str:
    plots = []
    for key, dist in m["distributions"].items():
        if dist.get("count") and "hist" in dist:
            q = dist["quantiles"]
            label = f"{key}: median {fmt(q['0.5'])}, mean {fmt(dist['mean'])}"
            tail = dist["hist"].get("last_bar_from")
            note = "bar height: records"
            if tail is not None:
                note += f"; last bar: {fmt(tail)} up to the maximum {fmt(q['1.0'])}"
            plots.append(histogram(dist["hist"]["edges"], dist["hist"]["counts"], label, xlabel=note))
    for key, counts in m["counts"].items():
        if counts:
            plots.append(bars(counts, key))
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in m.get("notes", []))
    return (
        f'<div class="card" id="metric-{escape(name)}"><h3>{escape(name)} '
        f'<span class="muted">v{m["version"]} · {fmt(m.get("seconds"))} s</span></h3>'
        f'<p class="def">{escape(m["description"])}</p>{_values_table(m)}{notes}'
        f'<div class="plots">{"".join(plots)}</div></div>'
    )


def render_report(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the HTML page for one metrics.json dict."""
    ds = report["dataset"]
    body = ['<h2>Summary</h2><p class="muted">↑ / ↓: the direction that is better (quality), more diverse '
            "(diversity) or more complex (complexity). <code>.sample</code> figures are taken on a seeded sample of "
            f"{min(report['settings']['sample_size'], ds['records']):,} records, so datasets of different sizes "
            "compare fairly.</p>"]
    body.append(summary_table(report, link="#metric-"))
    for group, title in GROUPS.items():
        cards = [_metric_card(n, m) for n, m in report["metrics"].items() if m["group"] == group]
        if cards:
            body.append(f'<h2>{escape(title)}</h2><div class="cards">{"".join(cards)}</div>')
    if report.get("skipped"):
        items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in report["skipped"].items())
        body.append(f"<h2>Not measured</h2><ul>{items}</ul>")
    if ds.get("bad_line_count"):
        items = "".join(f"<li>line {b['line']}: {escape(b['reason'])}</li>" for b in ds["bad_lines"])
        body.append(f"<h2>Unreadable input lines ({ds['bad_line_count']:,}, skipped)</h2><ul>{items}</ul>")
    fields = ", ".join(f"{k} = <code>{escape(v)}</code>" for k, v in ds["fields"].items() if v)
    subtitle = [
        f"{escape(ds['path'])} · {ds['records']:,} records · measured in {fmt(report['seconds'])} s "
        f"with codealign {escape(report['codealign_version'])}",
        f"fields: {fields or 'none found'}",
    ]
    out = Path(path)
    with AtomicWriter(out) as fh:
        fh.write(page(f"QDC report: {ds['name']}", subtitle, "".join(body)) + "\n")
    return out
