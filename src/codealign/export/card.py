"""The dataset card (README.md): the Hub's YAML header, then how the data was made, measured, cleaned and licensed.

The license comes from the seeds behind the exported examples: one license gives that license, several give the list
(the data holds code under each), a seed without a known license adds `unknown`, and a license the Hub does not
list becomes `other`, named in the body.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from codealign import __version__
from codealign.export.qdc import QDC, qdc_rows
from codealign.export.rundata import RunView
from codealign.measure.svg import fmt

# License identifiers the Hub's metadata accepts, for the licenses code is commonly under (SPDX ids, lower-cased).
HUB_LICENSES = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "0bsd", "isc", "zlib",
    "unlicense", "cc0-1.0", "bsl-1.0", "artistic-2.0", "wtfpl", "postgresql", "ncsa", "ms-pl", "ecl-2.0", "afl-3.0",
    "cc-by-4.0", "cc-by-3.0", "cc-by-sa-4.0", "cc-by-sa-3.0", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "agpl-3.0", "mpl-2.0", "epl-1.0", "epl-2.0", "eupl-1.1", "eupl-1.2", "osl-3.0", "upl-1.0",
})  # fmt: skip
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))  # fmt: skip
UNKNOWN = "unknown"


def hub_license(spdx: str | None) -> str:
    """The Hub's identifier for an SPDX license id: itself lower-cased, `unknown` when none, `other` when unlisted."""
    if not spdx or spdx.strip().lower() in ("", UNKNOWN, "none", "noassertion"):
        return UNKNOWN
    ident = spdx.strip().lower()
    for suffix in ("-only", "-or-later", "+"):
        ident = ident.removesuffix(suffix)
    return ident if ident in HUB_LICENSES else "other"


def card_license(licenses: Counter) -> str | list[str]:
    """The `license` entry of the card for the seeds' licenses (SPDX id -> examples)."""
    ids = sorted({hub_license(k) for k in licenses}, key=lambda k: (k in (UNKNOWN, "other"), k))
    if not ids:
        return UNKNOWN
    return ids[0] if len(ids) == 1 else ids


def size_category(n: int) -> str:
    for bound, name in SIZES:
        if n < bound:
            return name
    return "n>100M"


def metadata(view: RunView, licenses: Counter, n_rows: int, configs: list[dict[str, Any]] | None,
             license_override: str | None, pretty_name: str) -> dict[str, Any]:  # fmt: skip
    """The YAML header: what the Hub shows and filters on, and (for Parquet/JSONL) where each config's files are."""
    language = (view.config.get("method_options") or {}).get("language") or "python"
    method = view.config.get("method") or "codealign"
    meta: dict[str, Any] = {
        "pretty_name": pretty_name,
        "license": license_override or card_license(licenses),
        "language": ["en"],
        "task_categories": ["text-generation"],
        "size_categories": [size_category(n_rows)],
        "tags": sorted({"code", "synthetic", "codealign", str(method), str(language)}),
    }
    if configs:
        meta["configs"] = configs
    return meta


def render_card(meta: dict[str, Any], body: str) -> str:
    import yaml

    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{header}---\n\n{body}"


def card_body(view: RunView, *, name: str, counts: dict[str, int], licenses: Counter, repos: Counter,
              qdc: QDC, layout: str, contact: str | None) -> str:  # fmt: skip
    """The card's Markdown body."""
    info = view.method()
    cfg = view.config
    opts = cfg.get("method_options") or {}
    execution = cfg.get("execution") or {}
    selection = cfg.get("selection") or {}
    seeds_step = next((s for s in view.steps() if s.kind == "seed"), None)
    lines = [
        f"# {name}",
        "",
        f"Instruction data for code made by codealign {__version__} with the "
        f"`{info['method']}` method (version {info['method_version'] or 'unknown'}): "
        f"{counts['sft']:,} instruction-response examples, each with tests that its response passed in a sandbox, "
        f"and {counts['dpo']:,} preference pairs (a passing and a failing response to the same instruction)"
        + (f", grown from {seeds_step.n_out:,} seed functions." if seeds_step else "."),
        "",
        "## Contents",
        "",
        "| config | rows | columns |",
        "|---|---|---|",
        f"| `sft` | {counts['sft']:,} | `instruction`, `response` (without its tests), `tests`, `category`, `difficulty`, "
        "`language`, `concepts`, `seed`, and the provenance columns below |",
        f"| `dpo` | {counts['dpo']:,} | `prompt`, `chosen`, `rejected`, `rejected_status`, and the provenance columns |",
        "",
        "Provenance columns on every row: `seed_id`, `source_repo`, `source_commit`, `source_path`, `source_lines`, "
        "`source_license`, `source_license_class`, `seed_file` (where the run read the seed), `method`, "
        "`method_version`, `model`, `instruction_id`, `sample_id` (SFT), `run_config_hash`, and (SFT) the whole "
        "`lineage` and `provenance` as JSON: prompt hashes and sampling options of every model call.",
        "",
        layout,
        "",
        "## How it was made",
        "",
        f"- Model: `{info['model']}` through the `{info['backend']}` backend in {info['mode']} mode.",
        f"- Method: `{info['method']}` {info['method_version'] or ''}; options: "
        + ", ".join(f"`{k}={_short(v)}`" for k, v in opts.items() if v is not None) + ".",
        f"- Execution: every response ran with its own tests in codealign's sandbox "
        f"(timeout {fmt(execution.get('timeout'))} s, memory {fmt(execution.get('memory_mb'))} MiB); only passing "
        "responses were kept.",
        "- Selection: " + ", ".join(f"`{k}={_short(v)}`" for k, v in selection.items()) + ".",
        f"- Config hash: `{view.config_hash()}` (the resolved config without its run directory).",
        "",
        "## Funnel",
        "",
        "| step | in | out | removed, by reason |",
        "|---|---:|---:|---|",
    ]
    for s in view.steps():
        label = s.name if s.group == "stage" else f"select: {s.name}"
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s.rejected.items(), key=lambda kv: -kv[1])) or "–"
        lines.append(f"| {label} | {s.n_in:,} | {s.n_out:,} | {_cell(reasons)} |")
    lines += ["", "## Quality, diversity, complexity", ""]
    rows = qdc_rows(qdc)
    if rows:
        lines += [f"{qdc.report['dataset']['records']:,} examples; {qdc.note}.", "",
                  "| group | metric | figure | value |", "|---|---|---|---:|"]
        lines += [f"| {g} | {m} | `{k}` {a} | {fmt(v)} |" for g, m, k, v, a in rows]
    else:
        lines.append(f"Not measured ({qdc.note})." + (f" `{qdc.command}` measures it." if qdc.command else ""))
    lines += ["", "## Decontamination", ""]
    decontam = next((s for s in view.steps() if s.name == "decontamination"), None)
    if decontam is not None:
        benchmarks = ", ".join(selection.get("benchmarks") or []) or "the shipped benchmarks"
        lines.append(f"The selected examples were checked against {benchmarks} (word {selection.get('decontam_ngram')}-gram "
                     f"overlap and normalised substrings of prompts and solutions): {decontam.n_in:,} checked, "
                     f"{decontam.removed:,} removed.")
    else:
        lines.append("The selected examples were not decontaminated (`selection.decontaminate: false`).")
    curation = view.seeds_curation()
    if curation:
        d = curation.get("decontamination") or {}
        lines.append(f"The seeds were curated by `codealign curate` and checked too: {fmt(d.get('checked'))} "
                     f"checked, {fmt(d.get('contaminated'))} removed.")
    lines += ["", "## Licenses and sources", "",
              "The license of each example is that of the source file its seed was taken from "
              "(`source_license`); the header above lists every license that occurs.", "",
              "| license | examples |", "|---|---:|"]
    lines += [f"| {_cell(k)} | {v:,} |" for k, v in licenses.most_common()]
    if repos:
        lines += ["", "| repository | examples |", "|---|---:|"]
        lines += [f"| {_cell(k)} | {v:,} |" for k, v in repos.most_common(20)]
        if len(repos) > 20:
            lines.append(f"| ({len(repos) - 20:,} more) | {sum(v for _, v in repos.most_common()[20:]):,} |")
    optout = ((curation or {}).get("config") or {}).get("optout")
    lines += [
        "",
        "## Opt-out",
        "",
        "Every example names the repository, commit, file and lines its seed came from. If your code is among the "
        "sources and you want it out of this dataset, "
        + (f"write to {contact}" if contact else "open a discussion on this dataset's page")
        + " with the repository (or the `source_path` values); the seeds will be curated again with your "
        "repository, paths or author name on an opt-out list (`codealign curate --optout FILE`) and the dataset "
        "rebuilt without them.",
    ]
    if optout:
        lines.append(f"The seeds of this release were curated with the opt-out list `{optout}`.")
    lines += [
        "",
        "## Limitations",
        "",
        "The instructions, responses and tests were written by a model. A response passed the tests written with it, "
        "which shows that code and tests agree, not that either is what the instruction asked for. Categories and "
        "difficulties are those the model was asked for.",
        "",
    ]
    return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
