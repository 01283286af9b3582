"""The loss curve as one self-contained SVG file: training loss per logged step, eval loss where it was measured,
and for DPO the reward margin (chosen minus rejected). No scripts, fonts or files are referenced; any browser or
image viewer opens it, and the model card shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from codealign.measure.svg import ticks

COLORS = ("#3b6ea8", "#d1762b", "#4a9a5b", "#b8434b")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _nice(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.3g}"


def chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]], title: str, ylabel: str,
    x0: int = 0, y0: int = 0, width: int = 640, height: int = 300,
) -> str:  # fmt: skip
    """One line chart as an SVG group placed at (x0, y0): every series on shared axes, a legend at the top right."""
    left, right, top, bottom = 62, 18, 30, 42
    w, h = width - left - right, height - top - bottom
    points = [p for _, pts in series for p in pts]
    xs, ys = [p[0] for p in points] or [0.0, 1.0], [p[1] for p in points] or [0.0, 1.0]
    xlo, xhi = min(xs), max(xs)
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1
    ylo, yhi = min(ys), max(ys)
    pad = (yhi - ylo) * 0.08 or abs(yhi) * 0.1 or 1.0
    ylo, yhi = ylo - pad, yhi + pad

    def px(x: float) -> float:
        return x0 + left + (x - xlo) / (xhi - xlo) * w

    def py(y: float) -> float:
        return y0 + top + h - (y - ylo) / (yhi - ylo) * h

    out = [f'<g><text x="{x0 + left}" y="{y0 + 18}" font-weight="600" font-size="14">{escape(title)}</text>',
           f'<rect x="{x0 + left}" y="{y0 + top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>']  # fmt: skip
    for t in ticks(ylo, yhi):
        out.append(f'<line x1="{x0 + left}" y1="{py(t):.1f}" x2="{x0 + left + w}" y2="{py(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 + left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_nice(t)}</text>')
    for t in ticks(xlo, xhi):
        if float(t).is_integer():
            out.append(f'<text x="{px(t):.1f}" y="{y0 + top + h + 16}" text-anchor="middle">{_nice(t)}</text>')
    out.append(f'<text x="{x0 + left + w / 2}" y="{y0 + height - 6}" text-anchor="middle" fill="#555">step</text>')
    out.append(f'<text x="{x0 + 14}" y="{y0 + top + h / 2}" text-anchor="middle" fill="#555" '
               f'transform="rotate(-90 {x0 + 14} {y0 + top + h / 2})">{escape(ylabel)}</text>')  # fmt: skip
    shown = [(i, name, pts) for i, (name, pts) in enumerate(series) if pts]
    labels = [f"{name} (last {pts[-1][1]:.4f})" for _, name, pts in shown]
    legend_x = x0 + width - right - sum(7 * len(label) + 30 for label in labels)  # right-aligned, in series order
    for (i, name, pts), label in zip(shown, labels, strict=True):
        color = COLORS[i % len(COLORS)]
        if len(pts) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts))
            out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(pts) <= 40:
            for x, y in pts:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"><title>{escape(name)} '
                           f'at step {_nice(x)}: {y:.4f}</title></circle>')  # fmt: skip
        out.append(f'<line x1="{legend_x}" y1="{y0 + 14}" x2="{legend_x + 18}" y2="{y0 + 14}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{legend_x + 23}" y="{y0 + 18}">{escape(label)}</text>')
        legend_x += 7 * len(label) + 30
    out.append("</g>")
    return "".join(out)


def loss_svg(rows: list[dict], title: str) -> str:
    """The whole file: the loss chart, and for DPO runs the reward-margin chart under it."""
    def series(key: str) -> list[tuple[float, float]]:
        return [(float(r["step"]), float(r[key])) for r in rows if key in r and "step" in r]

    charts = [chart([("train loss", series("loss")), ("eval loss", series("eval_loss"))], title, "loss")]
    margins = series("rewards/margins")
    if margins:
        charts.append(chart([("reward margin (chosen - rejected)", margins),
                             ("eval reward margin", series("eval_rewards/margins"))],
                            "DPO reward margin", "margin", y0=300))  # fmt: skip
    height = 300 * len(charts)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" viewBox="0 0 640 {height}" '
            f'role="img" aria-label="{escape(title)}" {FONT}><rect width="640" height="{height}" fill="white"/>'
            + "".join(charts) + "</svg>\n")  # fmt: skip
