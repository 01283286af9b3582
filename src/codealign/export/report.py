"""`report.html` of a run: one self-contained page (inline CSS and SVG, no scripts) built from the run's files.

Sections: the funnel stage by stage with every rejection reason and a few rejected examples with the model's raw
text; pass rates by category, difficulty and language; execution outcomes and sandbox CPU time; backend usage; the
QDC summary of the final data; where the final data comes from (licenses, repositories, seed curation); and the
lineage of final examples back to their instruction, concepts, seed, source file, repository, commit and license.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from codealign import __version__
from codealign.export.qdc import QDC, run_qdc
from codealign.export.rundata import EXECUTION, PROPERTIES, Example, Outcomes, RunView, Step
from codealign.measure.report import page, summary_table
from codealign.measure.svg import PALETTE, bars, fmt, stacked_bars
from codealign.records import AtomicWriter

REPORT_FILE = "report.html"
UNITS = {"seed": "seeds", "concepts": "concept lists", "instruction": "instructions", "sample": "samples",
         EXECUTION: "samples", "adequacy": "samples", "cross_execution": "samples"}  # fmt: skip
CSS = """
main p{font-size:14px}nav.toc{margin:10px 0 0;font-size:13px}nav.toc a{margin-right:12px;color:#2b5c94}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}.kpi{background:#fff;border:1px solid #dde2ea;
border-radius:8px;padding:8px 14px;min-width:120px}.kpi b{display:block;font-size:21px}.kpi span{color:#555;font-size:12px}
section.card{max-width:1200px;margin-bottom:12px}details{margin:3px 0}summary{cursor:pointer}
pre{background:#f3f5f8;border:1px solid #e2e6ec;border-radius:4px;padding:6px 8px;max-height:240px;overflow:auto;
white-space:pre-wrap;word-break:break-word;font-size:12px;margin:4px 0}pre.err{background:#fbf0f0;border-color:#efd3d3}
.ex{border-left:3px solid #d1762b;padding:2px 0 2px 10px;margin:6px 0 10px}
.chain{list-style:none;padding:0;margin:6px 0}.chain>li{border-left:3px solid #3b6ea8;background:#fbfcfd;
padding:5px 10px;margin:0 0 6px}.chain .k{font-weight:600;display:inline-block;min-width:92px}
td{vertical-align:top}.ok{color:#2d7a3e;font-weight:600}.bad{color:#b8434b;font-weight:600}td.reasons{max-width:640px}
.lineage{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 14px;margin:0 0 12px;max-width:1200px}
.lineage{font-size:14px}.lineage h3{margin:0 0 4px;font-size:15px}main h3{font-size:14px;margin:14px 0 4px}
"""


def write_report(
    run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, examples: int = 20, per_reason: int = 3,
    measure: bool = True, finishing: bool = False,
) -> Path:
    """Build the page of a run from its files and write it (atomically) to `out`, by default RUN_DIR/report.html.

    `finishing`: called by the run itself, between its final files and its `run.done`."""
    view = RunView(run_dir, finishing=finishing)
    target = Path(out) if out is not None else view.path / REPORT_FILE
    html = render(view, examples=examples, per_reason=per_reason, measure=measure,
                  base=os.path.relpath(view.path, target.parent))  # fmt: skip
    with AtomicWriter(target) as fh:
        fh.write(html)
    return target


def render(view: RunView, examples: int = 20, per_reason: int = 3, measure: bool = True, base: str = ".") -> str:
    steps = view.steps()
    found, outcomes = view.examples_and_outcomes(per_reason)
    seeds = view.seed_provenance()
    traced = view.traced(examples)
    qdc = run_qdc(view, compute=measure)
    info = view.method()
    final = view.final_counts()
    sections = [
        ("funnel", "Funnel", _funnel(steps, found)),
        *([("feedback", "Execution feedback", feedback)] if (feedback := _feedback(view)) else []),
        ("pass-rates", "Pass rates", _pass_rates(outcomes)),
        ("execution", "Execution", _execution(outcomes)),
        ("usage", "Backend usage", _usage(view.usage, outcomes)),
        ("qdc", "Quality, diversity, complexity", _qdc(qdc, base)),
        ("sources", "Sources and licenses", _sources(view, seeds)),
        ("lineage", "Lineage", _lineage(traced, seeds, final["sft"])),
        ("files", "Files", _files(view, base)),
    ]
    toc = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = [f'<nav class="toc">{toc}</nav>', _kpis(steps, outcomes, final, view.usage)]
    if not view.finished:
        body.append('<p class="note">This run has not finished: the figures are those of its finished shards. '
                    "Rerun the same <code>codealign run</code> command to continue it.</p>")
    for key, title, html in sections:
        body.append(f'<h2 id="{key}">{escape(title)}</h2>{html}')
    method = " ".join(str(x) for x in (info["method"], info["method_version"] and f"v{info['method_version']}") if x)
    subtitle = [
        f"method <code>{escape(method or 'unknown')}</code> · model <code>{escape(str(info['model']))}</code> "
        f"({escape(str(info['backend']))}, {escape(str(info['mode']))} mode) · config hash "
        f"<code>{view.config_hash()}</code>",
        f"{escape(str(view.path))} · {'finished' if view.finished else 'not finished'} · "
        f"page made by codealign {escape(__version__)}",
    ]
    return page(f"codealign run: {view.path.name}", subtitle, "".join(body), css=CSS)


# -- sections ------------------------------------------------------------------------------------------------------


def _kpis(steps: list[Step], outcomes: Outcomes | None, final: dict[str, int], usage: dict[str, Any]) -> str:
    seeds = next((s for s in steps if s.kind == "seed"), None)
    cards = []
    if seeds is not None:
        cards.append((fmt(seeds.n_out), "seeds"))
    if outcomes is not None:
        executed = sum(v for k, v in outcomes.statuses.items() if not k.startswith("not run") and k != "sandbox_error")
        cards.append((fmt(executed), "samples executed"))
        if executed:
            cards.append((f"{outcomes.statuses.get('passed', 0) / executed:.0%}", "passed in the sandbox"))
        cards.append((f"{outcomes.cpu_seconds:,.2f} s", "sandbox CPU time"))
    tokens = sum(s.get("prompt_tokens", 0) + s.get("completion_tokens", 0) for s in (usage.get("stages") or {}).values())
    if tokens:
        cards.append((fmt(tokens), "tokens"))
    cards += [(fmt(final["sft"]), "SFT examples"), (fmt(final["dpo"]), "DPO pairs")]
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{v}</b><span>{escape(k)}</span></div>' for v, k in cards) + "</div>"


def _funnel(steps: list[Step], found: dict[tuple[str, str], list[Example]]) -> str:
    if not steps:
        return '<p class="muted">No stage has finished yet.</p>'
    rows = []
    for s in steps:
        unit = UNITS.get(s.kind or "", "")
        label = s.name if s.group == "stage" else f"select: {s.name}"
        note = f"{s.n_in:,} in → {s.n_out:,} {'passed' if s.kind == EXECUTION else 'out'}" + (f" ({unit})" if unit and s.group == "stage" else "")
        rows.append((label, (s.n_out, s.removed), note))
    chart = stacked_bars(rows, ("kept", "removed"), "records kept and removed at each step")
    trs = []
    for s in steps:
        label = escape(s.name) if s.group == "stage" else f'<span class="muted">select:</span> {escape(s.name)}'
        reasons = []
        for reason, count in sorted(s.rejected.items(), key=lambda kv: -kv[1]):
            shown = found.get((s.name, reason), [])
            inner = "".join(_example(ex) for ex in shown) or '<p class="muted">no example kept for this reason</p>'
            reasons.append(f"<details><summary><b>{escape(reason)}</b> {count:,}</summary>{inner}</details>")
        unit = UNITS.get(s.kind or "", "") if s.group == "stage" else "samples"
        trs.append(f'<tr id="step-{escape(s.name)}"><td>{label}</td><td>{escape(unit)}</td>'
                   f'<td class="num">{s.n_in:,}</td><td class="num">{s.n_out:,}</td>'
                   f'<td class="reasons">{"".join(reasons) or "–"}</td></tr>')
    table = ("<table><tr><th>step</th><th>records</th><th>in</th><th>out</th><th>removed, by reason "
             "(open one for examples with the model's text)</th></tr>" + "".join(trs) + "</table>")
    return (f'<div class="card">{chart}</div><p class="muted">A stage\'s out can exceed its in where one input '
            "yields several records (several responses per instruction). Every removed record is in "
            "<code>rejects/</code> with its reason.</p>" + table)


def _feedback(view: RunView) -> str:
    """What repair, the adequacy checks and cross-checking did, when the run had them; empty otherwise."""
    funnel = view.funnel or {}
    stages = funnel.get("stages") or {}
    parts = []
    repair = stages.get("repair")
    if repair and repair.get("rounds"):
        rows = "".join(
            f'<tr><td>{r["round"]}</td><td class="num">{r["in"]:,}</td><td class="num">{r["out"]:,}</td>'
            f'<td class="num">{r.get("rejected", {}).get("still_failing", 0):,}</td>'
            f'<td>{escape(", ".join(f"{k} {v}" for k, v in r.get("rejected", {}).items() if k != "still_failing")) or "–"}</td></tr>'
            for r in repair["rounds"]
        )
        parts.append("<h3>Repair</h3><p>Failing samples sent back to the model with their tests and error, round by "
                     "round; a repaired sample joins the others with its original tests.</p><table><tr><th>round</th>"
                     "<th>sent</th><th>repaired</th><th>still failing</th><th>other outcomes</th></tr>" + rows + "</table>")
    adequacy = (funnel.get("selection") or {}).get("test_adequacy")
    if "adequacy" in stages:
        measured = stages["adequacy"].get("out", 0)
        removed = ", ".join(f"{k} {v:,}" for k, v in (adequacy or {}).get("by_reason", {}).items()) or "none"
        parts.append(f"<h3>Coverage and mutants</h3><p>{measured:,} passing samples measured; removed by the "
                     f"coverage and kill-rate floors: {escape(removed)}.</p>")
    consensus = funnel.get("consensus")
    if consensus:
        n = consensus["instructions"]
        parts.append(
            f"<h3>Samples checked against each other</h3><p>{n:,} instructions had a kept response and other samples' "
            f"tests to check it with. The random choice would have kept a response that fails another sample's tests "
            f"for <b>{consensus['random_choice_fails_others']:,}</b> of them; with <code>choose: "
            f"{escape(consensus['choose'])}</code> the kept response fails them for "
            f"<b>{consensus['kept_fails_others']:,}</b> ({consensus['choice_changed']:,} choices changed).</p>"
        )
    return "".join(parts)


def _example(ex: Example) -> str:
    where = f'<div class="muted">{escape(ex.where)}</div>' if ex.where else ""
    if ex.raw is None:
        raw = ""
    elif ex.raw.strip():
        raw = f"<pre>{escape(_clip(ex.raw))}</pre>"
    else:
        raw = '<p class="muted">(the model wrote only whitespace)</p>'

    detail = f'<pre class="err">{escape(_clip(ex.detail, 1500))}</pre>' if ex.detail else ""
    return f'<div class="ex">{where}{raw}{detail}</div>'


def _pass_rates(outcomes: Outcomes | None) -> str:
    if outcomes is None:
        return '<p class="muted">This run executed nothing, so it has no pass rates.</p>'
    parts, charts = [], []
    for prop in PROPERTIES:
        rows = outcomes.pass_rates.get(prop) or {}
        if not rows or set(rows) == {"unknown"}:
            continue
        trs = "".join(
            f'<tr><td>{escape(v)}</td><td class="num">{r["samples"]:,}</td><td class="num">{r["executed"]:,}</td>'
            f'<td class="num">{r["passed"]:,}</td><td class="num">{_pct(r["pass_rate"])}</td></tr>'
            for v, r in rows.items()
        )
        parts.append(f'<div><h3>by {prop}</h3><table><tr><th>{prop}</th><th>samples</th><th>executed</th>'
                     f"<th>passed</th><th>pass rate</th></tr>{trs}</table></div>")
        rates = {v: round(100 * r["pass_rate"], 1) for v, r in rows.items() if r["pass_rate"] is not None}
        if rates:
            charts.append(bars(rates, f"pass rate by {prop} (%)", width=300, color=PALETTE[2]))
    if not parts:
        return '<p class="muted">The executed samples carry no category, difficulty or language.</p>'
    return (f'<div class="plots">{"".join(charts)}</div><div class="cards">{"".join(parts)}</div>'
            '<p class="muted">Pass rate = passed / executed; samples not run (malformed) count as samples only.</p>')


def _execution(outcomes: Outcomes | None) -> str:
    if outcomes is None:
        return '<p class="muted">This run executed nothing.</p>'
    chart = bars(dict(outcomes.statuses.most_common()), "outcome of every sample", width=460, color=PALETTE[0])
    errors = "".join(f'<tr><td><code>{escape(k)}</code></td><td class="num">{v:,}</td></tr>'
                     for k, v in outcomes.error_types.most_common(10))
    table = (f'<table><tr><th>programs run</th><td class="num">{outcomes.programs:,}</td></tr>'
             f'<tr><th>sandbox CPU time</th><td class="num">{outcomes.cpu_seconds:,.3f} s</td></tr>'
             f'<tr><th>sandbox wall time, summed</th><td class="num">{outcomes.wall_seconds:,.3f} s</td></tr></table>')
    err = f"<table><tr><th>exception</th><th>samples</th></tr>{errors}</table>" if errors else ""
    return (f'<div class="plots"><div>{chart}</div><div>{table}{err}</div></div><p class="muted">Times are those of the '
            "runs that made the outcomes, also for outcomes taken from the cache; they are in "
            "<code>usage.json</code> under <code>sandbox</code>.</p>")


def _usage(usage: dict[str, Any], outcomes: Outcomes | None) -> str:
    stages = usage.get("stages") or {}
    if not stages and not usage.get("this_invocation"):
        return '<p class="muted">No usage.json: the run has not finished.</p>'
    cols = ("requests", "samples", "cache_hits", "prompt_tokens", "completion_tokens")
    trs = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(f'<td class="num">{fmt(s.get(c, 0))}</td>' for c in cols) + "</tr>"
        for name, s in stages.items()
    )
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in cols)
    html = f"<h3>LLM calls by stage, over the whole run</h3><table><tr><th>stage</th>{head}</tr>{trs}</table>"
    last = usage.get("this_invocation") or {}
    backend = last.get("backend") or {}
    if backend:
        keys = ("requests", "backend_calls", "samples_generated", "cache_hits", "errors", "latency_p50_s",
                "latency_p95_s", "tokens_per_s", "busy_s")
        cells = "".join(f'<tr><td>{k.replace("_", " ")}</td><td class="num">{fmt(backend.get(k))}</td></tr>'
                        for k in keys if k in backend)
        html += f"<h3>The backend in the last invocation ({fmt(last.get('seconds'))} s)</h3><table>{cells}</table>"
    resumed = {k: v for k, v in (last.get("resumed_shards") or {}).items() if v}
    if resumed:
        html += f'<p class="muted">Resumed: {", ".join(f"{k} {v}" for k, v in resumed.items())} finished shards skipped.</p>'
    return html


def _qdc(qdc: QDC, base: str) -> str:
    link = f' <a href="{escape(_join(base, qdc.link))}">The full QDC report</a>.' if qdc.link else ""
    if qdc.command:
        link += f" The full QDC report: <code>{escape(qdc.command)}</code>."
    if qdc.report is None:
        return f'<p class="muted">{escape(qdc.note)}.{link}</p>'
    n = qdc.report["dataset"]["records"]
    skipped = "".join(f'<p class="muted">not measured: {escape(k)}: {escape(v)}</p>'
                      for k, v in qdc.report.get("skipped", {}).items())
    return f'<p class="muted">{n:,} final examples; {escape(qdc.note)}.{link}</p>{summary_table(qdc.report)}{skipped}'


def _sources(view: RunView, seeds: dict[str, dict[str, Any]]) -> str:
    parts = []
    if seeds:
        counts = view.source_counts(seeds)
        charts = [bars(dict(counts[k].most_common(12)), f"final examples by {k.replace('_', ' ')}", width=360)
                  for k in ("license", "license_class", "repo") if counts[k]]
        parts.append(f'<div class="plots">{"".join(charts)}</div>')
    else:
        parts.append('<p class="muted">The final examples of this run have no seeds to trace.</p>')
    decontam = next((s for s in view.steps() if s.name == "decontamination"), None)
    benchmarks = ", ".join((view.config.get("selection") or {}).get("benchmarks") or [])
    if decontam is not None:
        removed = ", ".join(f"{k} {v}" for k, v in decontam.rejected.items()) or "none"
        parts.append(f"<p>Decontamination of the final data against <b>{escape(benchmarks or 'the shipped benchmarks')}</b>: "
                     f"{decontam.n_in:,} checked, {decontam.removed:,} removed ({escape(removed)}).</p>")
    curation = view.seeds_curation()
    if curation:
        trs = "".join(f'<tr><td>{escape(str(s["step"]))}</td><td class="num">{s["in"]:,}</td><td class="num">{s["out"]:,}</td>'
                      f'<td>{escape(", ".join(f"{k} {v}" for k, v in s.get("rejected", {}).items()) or "–")}</td></tr>'
                      for s in curation.get("steps", []))
        cfg = curation.get("config") or {}
        d = curation.get("decontamination") or {}
        parts.append(
            f"<h3>Seed curation (<code>{escape(curation['path'])}</code>)</h3><p>source <code>{escape(str(curation.get('source')))}</code>"
            f" · licenses kept: {escape(', '.join(cfg.get('licenses') or []))} · opt-out list: "
            f"{escape(str(cfg.get('optout') or 'none'))} · decontamination: {fmt(d.get('checked'))} checked, "
            f"{fmt(d.get('contaminated'))} removed</p><table><tr><th>step</th><th>in</th><th>out</th><th>removed</th></tr>{trs}</table>"
        )
    return "".join(parts)


def _lineage(traced: list[dict[str, Any]], seeds: dict[str, dict[str, Any]], total: int) -> str:
    if not traced:
        return '<p class="muted">No final examples.</p>'
    head = (f'<p class="muted">The first {len(traced):,} of {total:,} final examples, each followed back to where it '
            "came from; every row of <code>final/sft.jsonl</code> carries the same ids in <code>lineage</code>.</p>")
    return head + "".join(_trace(i + 1, row, seeds) for i, row in enumerate(traced))


def _trace(n: int, row: dict[str, Any], seeds: dict[str, dict[str, Any]]) -> str:
    lineage = row.get("lineage") or {}
    records = row.get("records") or {}
    items = []
    seed = seeds.get(lineage.get("seed")) if lineage.get("seed") else None
    if seed is not None:
        items.append(("source", _source_line(seed)))
    for kind, value in lineage.items():
        if kind in ("instruction_parents", "sample_index"):
            continue
        rec = records.get(kind) or {}
        data = rec.get("data") or {}
        ident = f' <span class="muted">{escape(value)}</span>' if isinstance(value, str) else ""
        if kind == "seed":
            items.append(("seed", f"{ident}<pre>{escape(_clip(data.get('seed') or ''))}</pre>"))
        elif kind == "concepts":
            items.append(("concepts", escape(", ".join(data.get("concepts") or row.get("concepts") or [])) + ident))
        elif kind == "instruction":
            props = " · ".join(escape(str(row.get(p))) for p in PROPERTIES if row.get(p))
            prov = (rec.get("provenance") or {})
            made = f' <span class="muted">model {escape(str(prov.get("model")))}, prompt {escape(str(prov.get("prompt_hash")))}</span>' if prov else ""
            items.append(("instruction", f"{props}{ident}{made}<pre>{escape(row.get('instruction') or data.get('instruction') or '')}</pre>"))
        elif kind == "sample":
            index = lineage.get("sample_index")
            items.append(("response", f"sample {escape(str(index))}{ident}<details><summary>response</summary>"
                          f"<pre>{escape(_clip(row.get('response') or ''))}</pre></details><details><summary>tests</summary>"
                          f"<pre>{escape(_clip(row.get('tests') or ''))}</pre></details>"))
        elif kind == "execution" and isinstance(value, dict):
            status = str(value.get("status"))
            cls = "ok" if status == "passed" else "bad"
            items.append(("execution", f'<span class="{cls}">{escape(status)}</span> <span class="muted">cache key '
                          f'{escape(str(value.get("key", "–")))[:16]}…</span>'))
        elif isinstance(value, str):
            shown = ", ".join(f"{k}: {_short(v)}" for k, v in data.items()) or "(not found in the run's stages)"
            items.append((kind, f"{ident} {escape(shown)}"))
    lis = "".join(f'<li><span class="k">{escape(k)}</span> {v}</li>' for k, v in items)
    ident = lineage.get("sample") or str(n)
    title = escape(_short((row.get("instruction") or "").split("\n")[0], 110))
    return f'<div class="lineage" id="example-{escape(str(ident))}"><h3>Example {n}: {title}</h3><ol class="chain">{lis}</ol></div>'


def _source_line(seed: dict[str, Any]) -> str:
    parts = []
    if seed.get("repo"):
        commit = f' @ <code>{escape(str(seed["commit"])[:12])}</code>' if seed.get("commit") else ""
        parts.append(f'repository <b>{escape(str(seed["repo"]))}</b>{commit}')
    if seed.get("path"):
        lines = seed.get("lines")
        span = f":{lines[0]}-{lines[1]}" if isinstance(lines, list) and len(lines) == 2 else ""
        parts.append(f'file <code>{escape(str(seed["path"]))}{span}</code>')
    lic = seed.get("license") or "unknown"
    cls = f" ({escape(str(seed['license_class']))})" if seed.get("license_class") else ""
    parts.append(f"license <b>{escape(str(lic))}</b>{cls}")
    if seed.get("source"):
        parts.append(f'read from <code>{escape(str(seed["source"]))}:{escape(str(seed.get("line", "?")))}</code>')
    return " · ".join(parts)


def _files(view: RunView, base: str) -> str:
    names = ["config.resolved.yaml", "funnel.json", "usage.json", "final/sft.jsonl", "final/dpo.jsonl"]
    rejects = view.path / "rejects"
    if rejects.is_dir():
        names += sorted(f"rejects/{p.name}" for p in rejects.glob("*.jsonl"))
    items = "".join(f'<li><a href="{escape(_join(base, n))}">{escape(n)}</a></li>' for n in names if (view.path / n).exists())
    return f"<ul>{items}</ul>"


# -- helpers -------------------------------------------------------------------------------------------------------


def _clip(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f} %"


def _join(base: str, name: str) -> str:
    return name if base in ("", ".") else f"{base.rstrip('/')}/{name}"
