"""The per-file part of `curate`: licenses, opt-out, file heuristics, extraction, seed rules, decontamination, PII.

`FileWorker.process(file)` returns a list of events instead of touching the funnel, so the work can run in other
processes while the parent replays the events in file order: the output and the funnel are the same for any
number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from codealign.curate.filters import build_filters, verdict_reason
from codealign.records import Record, content_hash

if TYPE_CHECKING:
    from codealign.curate.pipeline import CurateConfig
    from codealign.curate.readers import SourceFile

# event kinds: ("reject", step, reason, row) ("keep", step) ("changed", step, kinds) ("matches", [Match])
# ("seed", row, exact key, keeper rank) ("functions", n)
Event = tuple[Any, ...]


class FileWorker:
    def __init__(self, cfg: CurateConfig) -> None:
        from codealign.curate.decontam import Decontaminator
        from codealign.curate.licenses import OptOut

        self.cfg = cfg
        self.file_filters = build_filters(cfg.file_filters)
        self.unit_filters = build_filters(cfg.filters)
        self.optout = OptOut.load(cfg.optout)
        self.decon = Decontaminator(cfg.decontaminate, ngram=cfg.decontam_ngram) if cfg.decontaminate else None
        self.rule_step = "seed rules" if cfg.unit == "function" else "file rules"
        from codealign.curate.syntax import by_suffix, syntax

        self.languages = [syntax(name).name for name in cfg.languages]  # fails early on an unknown or missing one
        self.by_suffix = by_suffix(tuple(self.languages))

    def process(self, f: SourceFile) -> list[Event]:
        from codealign.curate.licenses import RANK
        from codealign.curate.pii import redact

        events: list[Event] = []
        for rec in self._units(f, events):
            reason = next((r for flt in self.unit_filters if rec.kind in flt.applies_to
                           for r in [verdict_reason(flt, flt.keep(rec))] if r), None)  # fmt: skip
            if reason:
                events.append(("reject", self.rule_step, reason, reject_row(rec)))
                continue
            events.append(("keep", self.rule_step))
            text = str(rec.data["seed"])
            if self.decon is not None:
                matches = self.decon.find(text)
                events.append(("matches", matches))
                if matches:
                    m = matches[0]
                    row = reject_row(rec) | {"matches": [vars(x) for x in matches]}
                    events.append(("reject", "decontamination", f"contaminated: {m.benchmark} {m.task_id} {m.kind}", row))
                    continue
                events.append(("keep", "decontamination"))
            audit: list[dict[str, Any]] = []
            if self.cfg.pii:
                text, found = redact(text)
                audit = [r.to_dict() for r in found]
                events.append(("keep", "pii redaction"))
                events.append(("changed", "pii redaction", [r.kind for r in found]))
            digest = content_hash(text)
            rank = (RANK[rec.provenance.get("license_class", "unknown")], digest)
            events.append(("seed", seed_row(rec, text, audit), bytes.fromhex(digest), rank))
        return events

    def _units(self, f: SourceFile, events: list[Event]) -> Iterator[Record]:
        """The records of one file that pass the file-level checks (license, opt-out, heuristics, parsing)."""
        from codealign.curate.extract import extract_functions, file_record

        prov_row = {"provenance": f.provenance()}
        if f.license_class not in self.cfg.licenses:
            source = f", decided by {f.license_source}" if f.license_source else ""
            events.append(("reject", "files", f"license: {f.license_class} ({f.license or 'none found'}{source})",
                           prov_row))
            return
        why = self.optout.reason(f.repo, f.path, f.authors) if self.optout else None
        if why:
            events.append(("reject", "files", why, prov_row))
            return
        language = self.language_of(f)
        if language not in self.languages:
            events.append(("reject", "files", f"language: {language} (not in {', '.join(self.languages)})", prov_row))
            return
        whole = file_record(f, language)
        for flt in self.file_filters:
            reason = verdict_reason(flt, flt.keep(whole))
            if reason:
                events.append(("reject", "files", reason, prov_row))
                return
        if self.cfg.unit == "file":
            events.append(("keep", "files"))
            yield whole
            return
        functions = extract_functions(f, language)
        if isinstance(functions, SyntaxError):
            events.append(("reject", "files", f"parses: syntax error line {functions.lineno}: {functions.msg}", prov_row))
            return
        events.append(("keep", "files"))
        records = list(functions)
        events.append(("functions", len(records)))
        yield from records


    def language_of(self, f: SourceFile) -> str:
        """The file's own language column (a dataset row's), else its suffix's, else the first language asked for."""
        if f.language:
            from codealign.registry import SYNTAXES

            name = f.language.strip().lower()
            return SYNTAXES.entry(name).name if name in SYNTAXES else name
        suffix = "." + f.path.rsplit(".", 1)[-1] if "." in f.path.rsplit("/", 1)[-1] else ""
        return self.by_suffix.get(suffix, self.languages[0])


def seed_row(rec: Record, text: str, audit: list[dict[str, Any]]) -> dict[str, Any]:
    data = {"seed": text, "name": rec.data.get("name")}
    language = rec.data.get("language")
    if language:  # Python seeds keep the layout (and ids) they always had
        data["language"] = language
    out = Record("seed", data, provenance=rec.provenance)
    row: dict[str, Any] = {"id": out.id, "seed": text, "name": rec.data.get("name")}
    if language:
        row["language"] = language
    row["provenance"] = rec.provenance
    if audit:
        row["pii"] = audit
    return row


def reject_row(rec: Record) -> dict[str, Any]:
    row = {"id": rec.id, "name": rec.data.get("name"), "provenance": rec.provenance, "seed": rec.data.get("seed")}
    if rec.data.get("language"):
        row["language"] = rec.data["language"]
    return row


_WORKER: FileWorker | None = None


def init_worker(cfg_data: dict[str, Any]) -> None:
    from codealign.curate.pipeline import CurateConfig

    global _WORKER
    _WORKER = FileWorker(CurateConfig.model_validate(cfg_data))


def process_batch(files: list[SourceFile]) -> list[list[Event]]:
    assert _WORKER is not None
    return [_WORKER.process(f) for f in files]
