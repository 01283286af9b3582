"""Several measurements side by side: a table of every figure, distribution strips, and the quality-diversity scatter."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from codealign.errors import InputError
from codealign.measure.report import ARROW, GROUPS, page
from codealign.measure.svg import PALETTE, fmt, quantile_strips, scatter
from codealign.records import AtomicWriter

# The first figure present in every report is used for each axis unless the user names one.
QUALITY_AXIS = ("execution.pass_rate", "format.format_valid", "syntax.syntax_valid")
BEST = ' style="background:#dff0d8;font-weight:600"'
DIVERSITY_AXIS = ("vendi.code.vendi.sample", "vendi.instruction.vendi.sample", "distinct_n.code.distinct_2.sample")


def load_report(path: str | os.PathLike) -> dict[str, Any]:
    """A metrics.json, or a folder holding one."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read a measurement from {p}: {exc}") from None
    if not str(report.get("format", "")).startswith("codealign.measure/"):
        raise InputError(f"{p} is not a codealign metrics.json (run `codealign measure` first)")
    return report


def figure(report: dict[str, Any], dotted: str) -> Any:
    name, _, key = dotted.partition(".")
    return report["metrics"].get(name, {}).get("values", {}).get(key)


def measured_on(report: dict[str, Any], figure_key: str, keys: set[str]) -> int | None:
    """How many records a size-bound figure was computed on (None for a figure that does not grow or shrink with
    the dataset): the seeded sample (`.sample`, at most `sample_size` records) or the whole dataset (a figure with
    a `.sample` twin)."""
    records = int(report["dataset"].get("records") or 0)
    if figure_key.endswith(".sample"):
        return min(records, int(report.get("settings", {}).get("sample_size") or records))
    if f"{figure_key}.sample" in keys:
        return records
    return None


def rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (metric, figure) found in any report, in the first report's order.

    A row is `comparable` when every report computed it with the same definition version and, for a figure that
    depends on how many records it saw (Vendi, distinct-n, compression), on as many records; `note` says why not.
    """
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in reports:
        for name, m in r["metrics"].items():
            for key in m["values"]:
                if (name, key) not in seen:
                    direction = m["directions"].get(key.removesuffix(".median"), "")
                    seen[(name, key)] = {"group": m["group"], "metric": name, "figure": key, "direction": direction,
                                         "version": m["version"]}
    out = []
    for (name, key), row in seen.items():
        row["values"] = [figure(r, f"{name}.{key}") for r in reports]
        versions = {r["metrics"][name]["version"] for r in reports if name in r["metrics"]}
        sizes = [measured_on(r, key, set(r["metrics"].get(name, {}).get("values", {}))) for r in reports]
        row["records"] = sizes if any(n is not None for n in sizes) else None
        notes = []
        if len(versions) > 1:
            notes.append("definition versions differ")
        if row["records"] is not None and len({n for n in sizes if n is not None}) > 1:
            notes.append(f"not comparable: measured on {' vs '.join(f'{n:,}' if n is not None else '?' for n in sizes)}"
                         " records")
        row["comparable"] = not notes
        row["note"] = "; ".join(notes)
        out.append(row)
    return out


def smallest_common_size(reports: list[dict[str, Any]]) -> int | None:
    """The sample size at which every report's size-bound figures would compare, when they do not now."""
    sizes = {min(int(r["dataset"].get("records") or 0), int(r.get("settings", {}).get("sample_size") or 0))
             for r in reports}
    return min(sizes) if len(sizes) > 1 else None


def _best(values: list[Any], direction: str) -> int | None:
    nums = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if len(nums) < 2 or direction not in ARROW or len({v for v, _ in nums}) == 1:
        return None
    return (max(nums) if direction == "higher" else min(nums))[1]


def pick_axis(reports: list[dict[str, Any]], candidates: tuple[str, ...]) -> str | None:
    for c in candidates:
        if all(isinstance(figure(r, c), (int, float)) for r in reports):
            return c
    return None


def write_comparison(
    reports: list[dict[str, Any]],
    out: str | os.PathLike,
    x: str | None = None,
    y: str | None = None,
    sections: Sequence[str] = (),
) -> dict[str, Path]:
    """compare.json, compare.csv and compare.html in `out`; `sections` are HTML blocks added after the tables."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [r["dataset"]["name"] for r in reports]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    table = rows(reports)
    x = x or pick_axis(reports, DIVERSITY_AXIS)
    y = y or pick_axis(reports, QUALITY_AXIS)
    with AtomicWriter(out / "compare.json") as fh:
        json.dump({"datasets": names, "paths": [r["dataset"]["path"] for r in reports], "x": x, "y": y,
                   "rows": table}, fh, indent=1)
        fh.write("\n")
    with AtomicWriter(out / "compare.csv") as fh:
        w = csv.writer(fh)
        w.writerow(["group", "metric", "figure", "direction", *names, "comparable", "note"])
        for row in table:
            w.writerow([row["group"], row["metric"], row["figure"], row["direction"], *row["values"],
                        "yes" if row["comparable"] else "no", row["note"]])  # fmt: skip
    with AtomicWriter(out / "compare.html") as fh:
        fh.write(_html(reports, names, table, x, y, sections) + "\n")
    return {"json": out / "compare.json", "csv": out / "compare.csv", "html": out / "compare.html"}


def _html(
    reports: list[dict[str, Any]],
    names: list[str],
    table: list[dict[str, Any]],
    x: str | None,
    y: str | None,
    sections: Sequence[str] = (),
) -> str:
    body = []
    legend = " ".join(
        f'<span style="color:{PALETTE[i % len(PALETTE)]}">●</span> {escape(n)} ({r["dataset"]["records"]:,} records)'
        for i, (n, r) in enumerate(zip(names, reports, strict=True))
    )
    body.append(f"<p>{legend}</p>")
    if x and y:
        points = [(n, figure(r, x), figure(r, y)) for n, r in zip(names, reports, strict=True)]
        axis = {f"{row['metric']}.{row['figure']}": row for row in table}
        caveats = [f"<b>{escape(a)}</b>: {escape(axis[a]['note'])}" for a in (x, y)
                   if a in axis and not axis[a]["comparable"]]  # fmt: skip
        note = ("Diversity is measured on a fixed-size sample, so datasets of at least that size compare fairly."
                if not caveats else "Careful: " + "; ".join(caveats) + ".")
        body.append(f'<h2>Quality–diversity trade-off</h2><p class="muted">Up and to the right is better on both. '
                    f"{note}</p>")
        body.append(f'<div class="card">{scatter(points, x, y)}</div>')
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    for group, title in GROUPS.items():
        trs = []
        for row in (r for r in table if r["group"] == group):
            best = _best(row["values"], row["direction"]) if row["comparable"] else None
            cells = "".join(
                f'<td class="num"{BEST if i == best else ""}>{fmt(v)}</td>' for i, v in enumerate(row["values"])
            )
            flag = "" if row["comparable"] else f' <span class="note">({escape(row["note"])})</span>'
            trs.append(f"<tr><td>{escape(row['metric'])}</td><td><code>{escape(row['figure'])}</code> "
                       f"{ARROW.get(row['direction'], '')}{flag}</td>{cells}</tr>")
        if trs:
            body.append(f"<h2>{escape(title)}</h2><table><tr><th>metric</th><th>figure</th>{head}</tr>{''.join(trs)}</table>")
            body.append(f'<div class="plots">{_strips(reports, names, group)}</div>')
    body.extend(sections)
    return page("QDC comparison", [" vs ".join(escape(n) for n in names)], "".join(body))


def _strips(reports: list[dict[str, Any]], names: list[str], group: str) -> str:
    keys: dict[tuple[str, str], None] = {}
    for r in reports:
        for name, m in r["metrics"].items():
            if m["group"] == group:
                for key, dist in m["distributions"].items():
                    if dist.get("count"):
                        keys[(name, key)] = None
    svgs = []
    for name, key in keys:
        strip_rows = []
        for n, r in zip(names, reports, strict=True):
            dist = r["metrics"].get(name, {}).get("distributions", {}).get(key, {})
            q = dict(dist.get("quantiles", {}))
            if q:
                q["mean"] = dist.get("mean")
            strip_rows.append((n, q))
        svgs.append(f'<div class="card">{quantile_strips(strip_rows, f"{name}: {key}")}</div>')
    return "".join(svgs)
