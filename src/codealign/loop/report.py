"""What a loop leaves to read: `summary.json` (every round's figures), `report.html` (a table of the rounds and plots
of pass@1 and the QDC figures by round) and the same table in the terminal. Built from the rounds' state files alone.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from codealign.loop.steps import OWN_DATA

PLOT_CSS = (".plots{display:flex;flex-wrap:wrap;gap:10px}.plots svg{background:#fff;border:1px solid #dde2ea;"
            "border-radius:6px}td.num{white-space:nowrap}.wide{overflow-x:auto;max-width:100%}")


def pass1(figures: dict[str, Any] | None) -> float | None:
    return None if not figures else figures.get("pass_at_k", {}).get("pass@1")


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def round_rows(config: Any, base: dict[str, Any] | None, rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per model: M_0 (its evaluation only), then each round (the data it made, the model it trained)."""
    rows = []
    if base is not None:
        rows.append({"round": "base", "model": base["model"]["name"], "model_path": base["model"]["path"],
                     **{f"pass@1 {b}": pass1(f) for b, f in base.get("evaluate", {}).items()}})  # fmt: skip
    for state in rounds:
        steps = state.get("steps", {})
        gen, sft, dpo = steps.get("generate") or {}, steps.get("sft") or {}, steps.get("dpo") or {}
        evaluation = steps.get("evaluate") or {}
        out = state.get("model_out") or {}
        row = {
            "round": state["round"], "model": out.get("name", "–"), "model_path": out.get("path"),
            "generated_by": state["model_in"]["name"],
            "instructions": gen.get("instructions"), "responses": gen.get("responses"), "executed": gen.get("executed"),
            "pass_rate": gen.get("pass_rate"), "truncated": gen.get("truncated"), "sft": gen.get("sft"),
            "dpo": gen.get("dpo"), "train_examples": sft.get("train_examples"), "too_long": sft.get("too_long"),
            "steps": sft.get("steps"), "first_loss": sft.get("first_loss"), "last_loss": sft.get("last_loss"),
            "eval_loss": sft.get("eval_loss"), "dpo_margin": dpo.get("rewards/margins"),
            "stopped": state.get("stopped"),
        }  # fmt: skip
        for name, figures in evaluation.items():
            if name != OWN_DATA:
                row[f"pass@1 {name}"] = pass1(figures)
                row[f"truncated {name}"] = figures.get("truncated")
                row[f"in data {name}"] = figures.get("overlap")
        if OWN_DATA in evaluation or "before" in steps:
            row["own before"] = pass1((steps.get("before") or {}).get(OWN_DATA))
            row["own after"] = pass1(evaluation.get(OWN_DATA))
        for figure in config.report.figures:
            row[figure] = (gen.get("qdc") or {}).get(figure)
        rows.append(row)
    return rows


def write_outputs(config: Any, base: dict[str, Any] | None, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """summary.json and report.html in the loop folder; returns the summary (`terminal_table` shows it)."""
    from codealign.loop.rounds import write_json

    loop_dir = Path(config.loop_dir)
    finished = [s for s in rounds if s.get("finished") and not s.get("stopped")]
    stopped = next((s["stopped"] for s in rounds if s.get("stopped")), None)
    last = finished[-1]["model_out"] if finished else (base or {}).get("model") or {"path": config.base_model_path()}
    summary = {
        "loop_dir": str(loop_dir),
        "rounds_requested": config.rounds,
        "rounds_trained": len(finished),
        "stopped": stopped,
        "last_model": last.get("path"),
        "base": base,
        "rounds": rounds,
        "table": round_rows(config, base, rounds),
    }
    write_json(loop_dir / "summary.json", summary)
    write_report(config, summary, loop_dir / "report.html")
    return summary


def _benchmarks(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k[len("pass@1 "):] for row in rows for k in row if k.startswith("pass@1 ")))


def short(benchmark: str) -> str:
    """`jsonl:path/to/tasks.jsonl` -> `jsonl:tasks`: a column title that fits."""
    return "jsonl:" + Path(benchmark[6:]).stem if benchmark.startswith("jsonl:") else benchmark


def terminal_table(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    rows = summary["table"]
    table = Table(title=f"codealign loop: {summary['loop_dir']}")
    cols = [("round", "round"), ("model", "model"), ("responses", "responses"), ("pass_rate", "passed"),
            ("sft", "kept"), ("last_loss", "loss")]  # fmt: skip
    cols += [(f"pass@1 {b}", f"pass@1 {short(b)}") for b in _benchmarks(rows)]
    for _, title in cols:
        table.add_column(title, justify="left" if title in ("round", "model") else "right", overflow="fold")
    own = any("own after" in r for r in rows)
    if own:
        table.add_column("own tasks: before → after", justify="right", overflow="fold")
    for row in rows:
        cells = [_f(row.get(key)) for key, _ in cols]
        if own:
            cells.append(f"{_f(row.get('own before'))} → {_f(row.get('own after'))}" if "own after" in row else "–")
        table.add_row(*cells)
    return table


# -- the page --------------------------------------------------------------------------------------------------------


def _rel(path: str | None, loop_dir: Path) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(Path(path), loop_dir)
    except ValueError:
        return str(path)


def _link(path: str | None, text: str, loop_dir: Path) -> str:
    rel = _rel(path, loop_dir)
    if rel is None or not (loop_dir / rel).exists():
        return escape(text) if rel is None else f'<span class="muted">{escape(text)}</span>'
    return f'<a href="{escape(rel)}">{escape(text)}</a>'


def plots(config: Any, summary: dict[str, Any]) -> list[str]:
    from codealign.measure.svg import lines

    rows = summary["table"]
    models = [r for r in rows if r.get("model") not in (None, "–")]
    charts = []
    benchmarks = _benchmarks(rows)
    if benchmarks and models:
        series = [(short(b), [r.get(f"pass@1 {b}") for r in models]) for b in benchmarks]
        charts.append(lines(series, [r["model"] for r in models], "pass@1 by model", ymin=0.0, ymax=1.0))
    made = [r for r in rows if r["round"] != "base"]
    labels = [f"round {r['round']}" for r in made]
    if any("own after" in r for r in made):
        series = [("before training (M_r)", [r.get("own before") for r in made]),
                  ("after training (M_r+1)", [r.get("own after") for r in made])]  # fmt: skip
        charts.append(lines(series, labels, "pass@1 on the round's own tasks", ymin=0.0, ymax=1.0))
    if made:
        charts.append(lines([("responses", [r.get("responses") for r in made]), ("executed", [r.get("executed") for r in made]),
                             ("kept (SFT)", [r.get("sft") for r in made]), ("truncated", [r.get("truncated") for r in made])],
                            labels, "data yield by round", ymin=0.0))  # fmt: skip
        charts.append(lines([("sandbox pass rate", [r.get("pass_rate") for r in made])], labels,
                            "pass rate of the generated responses", ymin=0.0, ymax=1.0))  # fmt: skip
        losses = [("first", [r.get("first_loss") for r in made]), ("last", [r.get("last_loss") for r in made]),
                  ("eval", [r.get("eval_loss") for r in made])]  # fmt: skip
        charts.append(lines([s for s in losses if any(v is not None for v in s[1])], labels, "SFT loss by round", ymin=0.0))
        for figure in config.report.figures:
            values = [r.get(figure) for r in made]
            if any(v is not None for v in values):
                charts.append(lines([(figure, values)], labels, f"QDC: {figure}"))
    return charts


def write_report(config: Any, summary: dict[str, Any], path: Path) -> Path:
    from codealign.measure.report import page
    from codealign.records import AtomicWriter

    loop_dir = Path(config.loop_dir)
    rows = summary["table"]
    benchmarks = _benchmarks(rows)
    head = ["round", "model", "generated by", "instructions", "responses", "executed", "pass rate", "truncated",
            "kept SFT", "DPO pairs", "train examples", "too long", "steps", "loss first → last", "eval loss",
            *[f"pass@1 {short(b)}" for b in benchmarks], "own tasks before → after", "files"]  # fmt: skip
    trs = []
    for row in rows:
        r = row["round"]
        files = []
        if r == "base":
            files.append(_link(str(loop_dir / "base" / "eval"), "evaluation", loop_dir))
        else:
            rdir = loop_dir / f"round-{r}"
            files += [_link(str(rdir / "run" / "report.html"), "run report", loop_dir),
                      _link(str(Path(row["model_path"]) / "README.md") if row.get("model_path") else None, "model card", loop_dir),
                      _link(str(rdir / "eval"), "evaluation", loop_dir)]  # fmt: skip
        loss = f"{_f(row.get('first_loss'))} → {_f(row.get('last_loss'))}" if row.get("last_loss") is not None else "–"
        own = f"{_f(row.get('own before'))} → {_f(row.get('own after'))}" if "own after" in row else "–"
        cells = [r, row.get("model"), row.get("generated_by"), row.get("instructions"), row.get("responses"),
                 row.get("executed"), row.get("pass_rate"), row.get("truncated"), row.get("sft"), row.get("dpo"),
                 row.get("train_examples"), row.get("too_long"), row.get("steps")]  # fmt: skip
        tds = "".join(f'<td class="num">{escape(_f(c))}</td>' for c in cells)
        tds += f'<td class="num">{escape(loss)}</td><td class="num">{escape(_f(row.get("eval_loss")))}</td>'
        tds += "".join(f'<td class="num">{escape(_f(row.get(f"pass@1 {b}")))}</td>' for b in benchmarks)
        tds += f'<td class="num">{escape(own)}</td><td>{" · ".join(files)}</td>'
        trs.append(f"<tr>{tds}</tr>")
    # A round has many columns: the table scrolls inside its own box, the page keeps the window's width.
    table = ('<div class="wide"><table><tr>' + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
             + "".join(trs) + "</table></div>")
    qdc_head = "".join(f"<th>round {r['round']}</th>" for r in rows if r["round"] != "base")
    qdc_rows = "".join(
        f"<tr><td><code>{escape(fig)}</code></td>"
        + "".join(f'<td class="num">{escape(_f(r.get(fig)))}</td>' for r in rows if r["round"] != "base") + "</tr>"
        for fig in config.report.figures
    )
    body = [f'<p class="note">{escape(summary["stopped"])}</p>' if summary.get("stopped") else "",
            "<h2>Rounds</h2><p class=\"muted\">Round R: M_R generates the data (instructions, responses, the sandbox's "
            "pass rate, answers cut at max_tokens, examples kept), M_R+1 is trained on it (examples, those dropped as "
            "too long, loss) and evaluated (pass@1, greedy unless the config says otherwise). \"own tasks\": pass@1 "
            "of M_R and of M_R+1 on the tasks of the round's own data.</p>", table,
            '<h2>By round</h2><div class="plots">' + "".join(plots(config, summary)) + "</div>",
            f"<h2>QDC figures of each round's data</h2><table><tr><th>figure</th>{qdc_head}</tr>{qdc_rows}</table>"]  # fmt: skip
    method = config.run.get("method", "selfcodealign")
    subtitle = [f"base model <code>{escape(config.base_model_path())}</code> · method {escape(method)} · "
                f"{summary['rounds_trained']} of {summary['rounds_requested']} round(s) trained · train from "
                f"{escape(config.train_from)} · {escape(config.train_data)} data",
                f"last model: <code>{escape(str(summary['last_model']))}</code>"]  # fmt: skip
    with AtomicWriter(path) as fh:
        fh.write(page(f"codealign loop: {loop_dir.name}", subtitle, "".join(body), css=PLOT_CSS))
    return path
