"""The curate job: source -> files -> licenses/opt-out -> file heuristics -> functions -> seed rules ->
decontamination -> PII redaction -> exact dedup -> near dedup -> seeds JSONL, with a funnel and a rejects file.

Survivors of the streaming steps are spilled to a temporary JSONL next to the output, so the two dedup passes
need memory for one digest per record and one LSH band at a time, never for the corpus.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from codealign.config import StrictModel
from codealign.curate.filters import FILE_HEURISTICS, SEED_RULES, build_filters, verdict_reason
from codealign.curate.report import Funnel, progress_bar, side_path
from codealign.errors import ConfigError
from codealign.records import AtomicWriter, BadLine, Record, content_hash

LicenseClass = Literal["permissive", "copyleft", "unknown"]


class CurateConfig(StrictModel):
    unit: Literal["function", "file"] = "function"
    rev: str | None = None
    suffixes: list[str] = Field(default_factory=lambda: [".py"])
    content_field: str | None = None
    split: str = "train"
    file_filters: list[str] = Field(default_factory=lambda: list(FILE_HEURISTICS))
    filters: list[str] = Field(default_factory=lambda: list(SEED_RULES))
    licenses: list[LicenseClass] = Field(default_factory=lambda: ["permissive"])
    optout: str | None = None
    decontaminate: list[str] = Field(default_factory=lambda: ["humaneval"])
    decontam_ngram: int = Field(10, ge=1)
    pii: bool = True
    exact_dedup: bool = True
    near_dedup: bool = True
    threshold: float = Field(0.5, gt=0.0, le=1.0)
    num_perm: int = Field(256, ge=8)
    ngram: int = Field(5, ge=1)
    workers: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1, description="stop after this many source files")


def _seed_row(rec: Record, text: str, audit: list[dict[str, Any]]) -> dict[str, Any]:
    out = Record("seed", {"seed": text, "name": rec.data.get("name")}, provenance=rec.provenance)
    row: dict[str, Any] = {"id": out.id, "seed": text, "name": rec.data.get("name"), "provenance": rec.provenance}
    if audit:
        row["pii"] = audit
    return row


def _reject_row(rec: Record) -> dict[str, Any]:
    return {"id": rec.id, "name": rec.data.get("name"), "provenance": rec.provenance, "seed": rec.data.get("seed")}


def run_curate(source: str, output: str | Path, config: CurateConfig | None = None, show: bool = True) -> dict[str, Any]:
    """Curate `source` into seed rows at `output`; returns the funnel (also written next to the output)."""
    from codealign.curate.decontam import Decontaminator, DecontamReport
    from codealign.curate.extract import extract_functions, file_record
    from codealign.curate.licenses import RANK, OptOut
    from codealign.curate.pii import redact
    from codealign.curate.readers import open_source

    cfg = config or CurateConfig()
    out = Path(output)
    if out.suffix != ".jsonl":
        raise ConfigError(f"output must be a .jsonl file, got {out}")
    t0 = time.perf_counter()
    file_filters = build_filters(cfg.file_filters)
    unit_filters = build_filters(cfg.filters)
    optout = OptOut.load(cfg.optout)
    decon = Decontaminator(cfg.decontaminate, ngram=cfg.decontam_ngram) if cfg.decontaminate else None
    report = DecontamReport()
    funnel = Funnel(side_path(out, "rejects.jsonl"))
    licenses: Counter[str] = Counter()
    skipped: list[BadLine] = []
    spill = side_path(out, "spill.tmp.jsonl")
    keys: list[bytes] = []
    ranks: list[tuple[int, str]] = []
    ok = False
    try:
        with progress_bar() as bar, spill.open("w", encoding="utf-8") as sp:
            task = bar.add_task("reading", total=None, note="")
            files = open_source(source, rev=cfg.rev, suffixes=tuple(cfg.suffixes),
                                content_field=cfg.content_field, split=cfg.split, skipped=skipped)  # fmt: skip
            n_files = 0
            for f in files:
                n_files += 1
                bar.update(task, advance=1, note=f"{len(keys):,} kept")
                licenses[f.license_class] += 1
                for rec in _units(f, cfg, optout, file_filters, funnel, extract_functions, file_record):
                    reason = next((r for flt in unit_filters if rec.kind in flt.applies_to
                                   for r in [verdict_reason(flt, flt.keep(rec))] if r), None)  # fmt: skip
                    if reason:
                        funnel.reject("seed rules" if cfg.unit == "function" else "file rules", reason, _reject_row(rec))
                        continue
                    funnel.keep("seed rules" if cfg.unit == "function" else "file rules")
                    text = str(rec.data["seed"])
                    if decon is not None:
                        matches = decon.find(text)
                        report.add(matches)
                        if matches:
                            m = matches[0]
                            funnel.reject("decontamination", f"contaminated: {m.benchmark} {m.task_id} {m.kind}",
                                          _reject_row(rec) | {"matches": [vars(x) for x in matches]})  # fmt: skip
                            continue
                        funnel.keep("decontamination")
                    audit: list[dict[str, Any]] = []
                    if cfg.pii:
                        text, found = redact(text)
                        audit = [r.to_dict() for r in found]
                        funnel.keep("pii redaction")
                        funnel.step("pii redaction").changed.update(r.kind for r in found)
                    row = _seed_row(rec, text, audit)
                    sp.write(json.dumps(row, ensure_ascii=False) + "\n")
                    keys.append(bytes.fromhex(content_hash(text)))
                    ranks.append((RANK[rec.provenance.get("license_class", "unknown")], content_hash(text)))
                if cfg.limit and n_files >= cfg.limit:
                    break
            for bad in skipped:
                funnel.reject("files", f"unreadable: {bad.reason}", {"path": bad.path, "line": bad.lineno})
            bar.update(task, description="read", total=n_files, completed=n_files)
            sp.flush()
            keep = _dedup(cfg, spill, keys, ranks, funnel, bar)
            written = 0
            with AtomicWriter(out) as fh, spill.open(encoding="utf-8") as sp_in:
                for i, line in enumerate(sp_in):
                    if keep[i] is True:
                        fh.write(line)
                        written += 1
                    else:
                        row = json.loads(line)
                        funnel.reject(keep[i][0], keep[i][1], row)
        ok = True
    finally:
        funnel.close(ok)
        spill.unlink(missing_ok=True)
    funnel.extra.update({
        "source": source, "output": str(out), "unit": cfg.unit, "written": written, "files": n_files,
        "licenses": dict(licenses), "decontamination": report.to_dict(), "seconds": round(time.perf_counter() - t0, 2),
        "config": cfg.model_dump(),
    })  # fmt: skip
    funnel.write_json(side_path(out, "funnel.json"))
    if show:
        funnel.print_summary(f"curate: {written:,} seeds -> {out}", time.perf_counter() - t0)
        if licenses and not any(licenses[c] for c in cfg.licenses):
            from rich.console import Console

            Console(stderr=True).print(
                f"no file had an allowed license ({', '.join(cfg.licenses)}); found {dict(licenses)}. "
                "Add a LICENSE file or pass --licenses permissive,unknown"
            )
    return funnel.to_dict()


def _units(f, cfg, optout, file_filters, funnel, extract_functions, file_record) -> Iterator[Record]:  # noqa: ANN001
    """The records of one file that pass the file-level checks (license, opt-out, heuristics, parsing)."""
    prov_row = {"provenance": f.provenance()}
    if f.license_class not in cfg.licenses:
        funnel.reject("files", f"license: {f.license_class} ({f.license or 'none found'})", prov_row)
        return
    why = optout.reason(f.repo, f.path, f.authors) if optout else None
    if why:
        funnel.reject("files", why, prov_row)
        return
    whole = file_record(f)
    for flt in file_filters:
        reason = verdict_reason(flt, flt.keep(whole))
        if reason:
            funnel.reject("files", reason, prov_row)
            return
    if cfg.unit == "file":
        funnel.keep("files")
        yield whole
        return
    functions = extract_functions(f)
    if isinstance(functions, SyntaxError):
        funnel.reject("files", f"parses: syntax error line {functions.lineno}: {functions.msg}", prov_row)
        return
    funnel.keep("files")
    n = 0
    for rec in functions:
        n += 1
        yield rec
    funnel.extra["functions"] = funnel.extra.get("functions", 0) + n


def _dedup(cfg: CurateConfig, spill: Path, keys: list[bytes], ranks: list[tuple[int, str]], funnel: Funnel, bar: Any
           ) -> list[Any]:  # fmt: skip
    """Per spilled row: True (keep) or (step, reason)."""
    from codealign.curate.dedup import NearDedupIndex

    keep: list[Any] = [True] * len(keys)
    ids: list[str] = []
    with spill.open(encoding="utf-8") as fh:
        ids = [json.loads(line)["id"] for line in fh]
    if cfg.exact_dedup:
        best: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            j = best.get(k)
            if j is None or ranks[i] < ranks[j]:
                best[k] = i
        for i, k in enumerate(keys):
            if best[k] != i:
                keep[i] = ("exact dedup", f"exact_duplicate: of {ids[best[k]]}")
            else:
                funnel.keep("exact dedup")
    if cfg.near_dedup:
        alive = [i for i in range(len(keys)) if keep[i] is True]
        task = bar.add_task("near-dedup", total=len(alive), note=f"J>={cfg.threshold:g}")
        with NearDedupIndex(cfg.threshold, cfg.num_perm, cfg.ngram, workdir=spill.parent) as index:
            index.add_stream(_spilled_texts(spill, set(alive)), workers=cfg.workers,
                             on_batch=lambda n, _b: bar.update(task, advance=n))  # fmt: skip
            mask = index.keep_mask(rank=[ranks[i] for i in alive])
            for local, i in enumerate(alive):
                if mask[local]:
                    funnel.keep("near dedup")
                else:
                    keeper = alive[int(index.keeper[local])]
                    keep[i] = ("near dedup", f"near_duplicate: of {ids[keeper]} (J>={cfg.threshold:g})")
            funnel.extra["near_dedup"] = vars(index.stats)
    return keep


def _spilled_texts(spill: Path, wanted: set[int]) -> Iterator[str]:
    with spill.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i in wanted:
                yield json.loads(line)["seed"]
