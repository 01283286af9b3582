"""Small inline-SVG charts for the HTML reports: histogram, horizontal bars, quantile strips, labelled scatter, lines.

Each function returns one self-contained `<svg>` element; no scripts, fonts or files are referenced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#3b6ea8", "#d1762b", "#4a9a5b", "#b8434b", "#7d5ba6", "#8c6d4f", "#c36fa8", "#6f6f6f", "#a8a23b", "#3ba8a2")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def fmt(x: float | int | None) -> str:
    """A figure as a short string: integers plainly, others with 3 significant digits."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 100):
        return f"{int(x):,}"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) >= 0.001 else f"{x:.2e}"


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" {_FONT}>'
    )


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= step * mult:
            step *= mult
            break
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def histogram(
    edges: Sequence[float], counts: Sequence[int], label: str, width: int = 360, height: int = 170, xlabel: str = "records"
) -> str:
    """Bars of a histogram with x ticks; the y axis shows the largest count."""
    left, right, top, bottom = 38, 10, 18, 34
    w, h = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    peak = max(counts) or 1
    parts = [_open(width, height, label), f'<text x="{left}" y="12" font-weight="600">{escape(label)}</text>']
    for i, c in enumerate(counts):
        x0 = left + (edges[i] - lo) / span * w
        x1 = left + (edges[i + 1] - lo) / span * w
        bh = c / peak * h
        parts.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{top + h - bh:.1f}" width="{max(x1 - x0 - 1, 0.8):.1f}" height="{bh:.1f}" '
            f'fill="{PALETTE[0]}"><title>{fmt(edges[i])} – {fmt(edges[i + 1])}: {c:,}</title></rect>'
        )
    parts.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#555"/>')
    for t in ticks(lo, hi):
        x = left + (t - lo) / span * w
        parts.append(f'<line x1="{x:.1f}" y1="{top + h}" x2="{x:.1f}" y2="{top + h + 4}" stroke="#555"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + h + 15}" text-anchor="middle">{fmt(t)}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak:,}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + h}" text-anchor="end">0</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 3}" text-anchor="middle" fill="#555">{escape(xlabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(counts: dict[str, float], label: str, width: int = 360, color: str = PALETTE[1]) -> str:
    """Horizontal bars, one per category, largest value spanning the width."""
    row, left, top = 16, min(150, 12 + 6 * max((len(k) for k in counts), default=4)), 20
    height = top + row * len(counts) + 6
    peak = max(counts.values(), default=0) or 1
    w = width - left - 56
    parts = [_open(width, height, label), f'<text x="4" y="12" font-weight="600">{escape(label)}</text>']
    for i, (name, value) in enumerate(counts.items()):
        y = top + i * row
        shown = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text x="{left - 4}" y="{y + 11}" text-anchor="end"><title>{escape(name)}</title>{escape(shown)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(value / peak * w, 1):.1f}" height="{row - 4}" fill="{color}"/>')
        parts.append(f'<text x="{left + value / peak * w + 4:.1f}" y="{y + 11}">{fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def quantile_strips(rows: Sequence[tuple[str, dict[str, float]]], label: str, width: int = 420) -> str:
    """One box per dataset: 5–95 % whiskers, 25–75 % box, median tick, mean dot (from stored quantiles)."""
    row, left, top, bottom = 22, 120, 20, 22
    height = top + row * len(rows) + bottom
    values = [v for _, q in rows for v in q.values() if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    span = (hi - lo) or 1.0
    w = width - left - 14

    def x(v: float) -> float:
        return left + (v - lo) / span * w

    parts = [_open(width, height, label), f'<text x="4" y="12" font-weight="600">{escape(label)}</text>']
    for i, (name, q) in enumerate(rows):
        y = top + i * row + row / 2
        c = PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(name[:18])}</text>')
        if not q:
            continue
        parts.append(f'<line x1="{x(q["0.05"]):.1f}" y1="{y}" x2="{x(q["0.95"]):.1f}" y2="{y}" stroke="{c}"/>')
        parts.append(
            f'<rect x="{x(q["0.25"]):.1f}" y="{y - 6}" width="{max(x(q["0.75"]) - x(q["0.25"]), 1):.1f}" height="12" '
            f'fill="{c}" fill-opacity="0.35" stroke="{c}"><title>median {fmt(q["0.5"])}; 25–75 %: '
            f'{fmt(q["0.25"])} – {fmt(q["0.75"])}</title></rect>'
        )
        parts.append(f'<line x1="{x(q["0.5"]):.1f}" y1="{y - 7}" x2="{x(q["0.5"]):.1f}" y2="{y + 7}" stroke="{c}" stroke-width="2"/>')
        if q.get("mean") is not None:
            parts.append(f'<circle cx="{x(q["mean"]):.1f}" cy="{y}" r="2.5" fill="#222"/>')
    base = top + row * len(rows)
    for t in ticks(lo, hi):
        parts.append(f'<text x="{x(t):.1f}" y="{base + 14}" text-anchor="middle">{fmt(t)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def scatter(points: Sequence[tuple[str, float, float]], xlabel: str, ylabel: str, width: int = 480, height: int = 340) -> str:
    """Labelled points, one per dataset, with padded axes."""
    left, right, top, bottom = 56, 20, 16, 42
    w, h = width - left - right, height - top - bottom
    xs = [p[1] for p in points] or [0.0]
    ys = [p[2] for p in points] or [0.0]

    def padded(vals: list[float]) -> tuple[float, float]:
        lo, hi = min(vals), max(vals)
        pad = (hi - lo) * 0.15 or abs(hi) * 0.1 or 1.0
        return lo - pad, hi + pad

    (x0, x1), (y0, y1) = padded(xs), padded(ys)
    parts = [_open(width, height, f"{ylabel} vs {xlabel}")]
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>')
    for t in ticks(x0, x1):
        px = left + (t - x0) / (x1 - x0) * w
        parts.append(f'<text x="{px:.1f}" y="{top + h + 14}" text-anchor="middle">{fmt(t)}</text>')
    for t in ticks(y0, y1):
        py = top + h - (t - y0) / (y1 - y0) * h
        parts.append(f'<text x="{left - 4}" y="{py + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 6}" text-anchor="middle">{escape(xlabel)} →</text>')
    parts.append(
        f'<text x="12" y="{top + h / 2}" text-anchor="middle" transform="rotate(-90 12 {top + h / 2})">{escape(ylabel)} →</text>'
    )
    for i, (name, x, y) in enumerate(points):
        px = left + (x - x0) / (x1 - x0) * w
        py = top + h - (y - y0) / (y1 - y0) * h
        c = PALETTE[i % len(PALETTE)]
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="{c}"><title>{escape(name)}: ({fmt(x)}, {fmt(y)})</title></circle>')
        parts.append(f'<text x="{px + 9:.1f}" y="{py + 4:.1f}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float], str]],
    segments: Sequence[str],
    label: str,
    width: int = 760,
    colors: Sequence[str] = (PALETTE[0], PALETTE[1]),
) -> str:
    """One horizontal bar per row, made of segments (e.g. kept, removed), with a legend and a note after each bar.

    Rows are (label, segment values, note); the longest bar spans the width.
    """
    row, top = 20, 34
    left = min(200, 14 + 6 * max((len(r[0]) for r in rows), default=4))
    w = width - left - 150
    height = top + row * len(rows) + 6
    peak = max((sum(values) for _, values, _ in rows), default=0) or 1
    parts = [_open(width, height, label), f'<text x="4" y="12" font-weight="600">{escape(label)}</text>']
    x = left
    for i, name in enumerate(segments):
        parts.append(f'<rect x="{x}" y="19" width="10" height="10" fill="{colors[i % len(colors)]}"/>')
        parts.append(f'<text x="{x + 14}" y="28">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    for i, (name, values, note) in enumerate(rows):
        y = top + i * row
        shown = name if len(name) <= 32 else name[:31] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end"><title>{escape(name)}</title>{escape(shown)}</text>')
        x0 = float(left)
        for k, value in enumerate(values):
            if value <= 0:
                continue
            bw = value / peak * w
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(bw, 1):.1f}" height="{row - 6}" '
                f'fill="{colors[k % len(colors)]}"><title>{escape(name)}: {escape(segments[k])} {fmt(value)}</title></rect>'
            )
            x0 += bw
        parts.append(f'<text x="{x0 + 6:.1f}" y="{y + 13}">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(
    series: Sequence[tuple[str, Sequence[float | None]]],
    xlabels: Sequence[str],
    label: str,
    width: int = 380,
    height: int = 200,
    ymin: float | None = None,
    ymax: float | None = None,
) -> str:
    """One line per series over shared x positions (rounds, models), a dot per value, a legend; None is a gap.

    The y axis spans the values unless `ymin`/`ymax` fix it (0 and 1 for rates).
    """
    legend: list[tuple[float, float, str]] = []  # x, y, name: entries flow left to right, then wrap
    x, y = 4.0, 26.0
    for name, _ in series:
        shown = name if len(name) <= 40 else name[:39] + "…"
        step = 22 + 6.2 * len(shown)
        if x > 4 and x + step > width:
            x, y = 4.0, y + 14
        legend.append((x, y, shown))
        x += step
    left, right, top, bottom = 44, 12, y + 8, 30
    w, h = width - left - right, height - top - bottom
    inset = min(28.0, w / 4)  # the first and last x labels stay inside the frame
    values = [v for _, vs in series for v in vs if v is not None]
    lo = ymin if ymin is not None else min(values, default=0.0)
    hi = ymax if ymax is not None else max(values, default=1.0)
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    n = max(len(xlabels), 1)

    def px(i: int) -> float:
        return left + (w / 2 if n == 1 else inset + i * (w - 2 * inset) / (n - 1))

    def py(v: float) -> float:
        return top + h - (v - lo) / (hi - lo) * h

    parts = [_open(width, height, label), f'<text x="4" y="12" font-weight="600">{escape(label)}</text>']
    for k, ((name, _), (lx, ly, shown)) in enumerate(zip(series, legend, strict=True)):
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="14" height="3" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 18:.1f}" y="{ly - 3}"><title>{escape(name)}</title>{escape(shown)}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>')
    for t in ticks(lo, hi, 4):
        parts.append(f'<text x="{left - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
        parts.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + w}" y2="{py(t):.1f}" stroke="#eee"/>')
    for i, name in enumerate(xlabels):
        parts.append(f'<text x="{px(i):.1f}" y="{top + h + 15}" text-anchor="middle">{escape(name)}</text>')
    for k, (name, vs) in enumerate(series):
        c = PALETTE[k % len(PALETTE)]
        runs: list[list[tuple[float, float, float]]] = [[]]
        for i, v in enumerate(vs):  # a None breaks the line
            if v is None:
                runs.append([])
            else:
                runs[-1].append((px(i), py(v), v))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
            for x, y, v in run:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{c}"><title>{escape(name)}: {fmt(v)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
