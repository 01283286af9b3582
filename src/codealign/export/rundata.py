"""A run directory read back from its files: stages, funnel, rejected examples, outcomes, usage and lineage.

Everything here reads what `codealign run` wrote (shards with markers, rejects, final files, funnel.json,
usage.json), never a pipeline's in-memory state, so the page a run ends with and `codealign report RUN_DIR` are
built the same way. Shards are streamed; only what is shown (a few examples per reason, the traced examples, one
small tuple per instruction) is held in memory. Stages are told apart by the kind of record they hold, so runs of
any method read the same way, and a run without seeds, concepts or execution simply shows less.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.errors import InputError
from codealign.records import content_hash
from codealign.runs import CONFIG_FILE, RunDir

EXECUTION = "execution"  # the kind of a stage whose rows carry sandbox outcomes
PROPERTIES = ("category", "difficulty", "language")
_ID = re.compile(r'^\{"id": "([^"]+)"')


@dataclass
class Step:
    """One step of the funnel: a stage of the run, or a selection filter."""

    name: str
    group: str  # "stage" or "selection"
    n_in: int
    n_out: int
    rejected: dict[str, int]
    kind: str | None = None

    @property
    def removed(self) -> int:
        return sum(self.rejected.values())


@dataclass
class Example:
    """A rejected item as the page shows it: the model's text, what went wrong, and where it came from."""

    reason: str
    raw: str | None = None  # None: no text to show; "": the model wrote nothing
    detail: str = ""
    where: str = ""
    sample: str | None = None  # when set, `raw` is filled from this sample record


@dataclass
class Outcomes:
    """Execution results summed over every executed sample."""

    statuses: Counter = field(default_factory=Counter)
    error_types: Counter = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    programs: int = 0
    # property -> value -> {samples, executed, passed, pass_rate}
    pass_rates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def usage(self) -> dict[str, Any]:
        """The sandbox part of usage.json."""
        return {
            "programs": self.programs,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "outcomes": dict(self.statuses.most_common()),
        }


class RunView:
    """Read-only access to one run directory, by what its files hold."""

    def __init__(self, path: str | Path, finishing: bool = False) -> None:
        self.path = Path(path)
        self._finishing = finishing  # the run writing its final files right now (before its run.done)
        if not self.path.is_dir():
            raise InputError(f"run directory not found: {self.path}")
        self.rd = RunDir(self.path)
        self.config = self._read_config()
        self.funnel: dict[str, Any] | None = self.rd.read_json("funnel.json")
        self.usage: dict[str, Any] = self.rd.read_json("usage.json") or {}
        self.stages = self._stage_names()
        if not self.stages and not self.config:
            raise InputError(f"{self.path} is not a codealign run directory (no {CONFIG_FILE}, no finished shards)")
        self.kinds = {name: self._kind(name) for name in self.stages}  # the main kind of each stage's records
        self.all_kinds = {name: self._all_kinds(name) for name in self.stages}

    # -- what the run is ---------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """The run wrote `run.done`, its last file (or is writing its final files now, for its own report)."""
        has_final = self.funnel is not None and (self.path / "final" / "sft.jsonl").exists()
        return has_final and (self._finishing or self.rd.is_finished())

    def _read_config(self) -> dict[str, Any]:
        import yaml

        p = self.path / CONFIG_FILE
        if not p.exists():
            return {}
        return yaml.safe_load(p.read_text(encoding="utf-8")) or {}

    def config_hash(self) -> str:
        """Hash of the resolved config without where it was written: the same recipe gives the same hash."""
        recipe = {k: v for k, v in self.config.items() if k not in ("run_dir", "_fixed")}
        return content_hash(recipe, 16)

    def method(self) -> dict[str, Any]:
        """Method name and version, model, mode and backend type, from the config and the records' provenance."""
        backend = self.config.get("backend") or {}
        info = {"method": self.config.get("method"), "method_version": None, "model": backend.get("model"),
                "mode": backend.get("mode"), "backend": backend.get("type")}  # fmt: skip
        for name in self.stages:
            if self.kinds[name] not in (None, EXECUTION, "seed"):
                for row in self.rd.iter_rows(name):
                    prov = row.get("provenance") or {}
                    info["method_version"] = prov.get("method_version")
                    info["model"] = prov.get("model") or info["model"]
                    return info
        return info

    def _stage_names(self) -> list[str]:
        if self.funnel and isinstance(self.funnel.get("stages"), dict):
            return list(self.funnel["stages"])
        # An unfinished run: every folder with finished shards, in the order its first shard was finished.
        found = []
        for d in self.path.iterdir():
            markers = list(d.glob("*.done")) if d.is_dir() else []
            if markers:
                found.append((min(m.stat().st_mtime for m in markers), d.name))
        return [name for _, name in sorted(found)]

    def _kind(self, stage: str) -> str | None:
        for row in self.rd.iter_rows(stage):
            return EXECUTION if "outcome" in row else row.get("kind")
        return None

    def _all_kinds(self, stage: str) -> tuple[str, ...]:
        """Every kind a stage makes: its markers count them when there are several (instruction and sample in
        one call, say), else the kind of its first record."""
        shards = self.rd.shards(stage)
        kinds = self.rd.marker(stage, shards[0]).get("kinds") if shards else None
        if isinstance(kinds, dict) and kinds:
            return tuple(kinds)
        return (self.kinds[stage],) if self.kinds.get(stage) else ()

    def stage_of(self, kind: str) -> str | None:
        """The last stage that made records of `kind`."""
        matches = [name for name in self.stages if kind in self.all_kinds.get(name, ())]
        return matches[-1] if matches else None

    # -- the funnel --------------------------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        """Every stage, then every selection filter, with counts in and out and removals by reason."""
        out = []
        stages = (self.funnel or {}).get("stages") or {}
        for name in self.stages:
            if name in stages:
                s = stages[name]
                step = Step(name, "stage", s.get("in", 0), s.get("out", 0), dict(s.get("rejected", {})))
            else:
                markers = self.rd.markers(name)
                rejected: Counter = Counter()
                for m in markers:
                    rejected.update(m.get("rejected", {}))
                step = Step(name, "stage", sum(m.get("in", 0) for m in markers),
                            sum(m.get("out", 0) for m in markers), dict(rejected))  # fmt: skip
            step.kind = self.kinds.get(name)
            out.append(step)
        for name, s in ((self.funnel or {}).get("selection") or {}).items():
            out.append(Step(name, "selection", s.get("in", 0), s.get("out", 0), dict(s.get("by_reason", {}))))
        return out

    def final_counts(self) -> dict[str, int]:
        final = (self.funnel or {}).get("final") or {}
        return {"sft": final.get("sft", self._count_lines("final/sft.jsonl")),
                "dpo": final.get("dpo", self._count_lines("final/dpo.jsonl"))}  # fmt: skip

    def _count_lines(self, name: str) -> int:
        p = self.path / name
        if not p.exists():
            return 0
        with p.open(encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    # -- examples of every rejection reason, and the execution outcomes ------------------------------------------

    def examples_and_outcomes(self, per_reason: int = 3) -> tuple[dict[tuple[str, str], list[Example]], Outcomes | None]:
        """A few examples per (step, reason), with the model's text, and the summed execution outcomes."""
        steps = {s.name: s for s in self.steps()}
        found: dict[tuple[str, str], list[Example]] = {}

        def take(step: str, reason: str, make: Callable[[], Example]) -> bool:
            """Keep the example `make()` builds when its reason still has room (built only then)."""
            bucket = found.setdefault((step, reason), [])
            if len(bucket) < per_reason:
                bucket.append(make())
                return True
            return False

        def enough(counted: dict[str, int]) -> int:
            # Once this many examples are taken, every counted reason has all it can show: stop reading.
            return sum(min(per_reason, c) for c in counted.values()) if counted else -1

        for name in self.stages:
            if self.kinds.get(name) == EXECUTION:
                continue
            counted = steps[name].rejected if name in steps else {}
            taken, target = 0, enough(counted)
            for row in self.rd.iter_rows(name, rejects=True):
                if taken == target:
                    break
                reason = str(row.get("reason", "unknown"))
                key = reason if reason in counted else reason.split(":")[0]
                taken += take(name, key, lambda row=row, reason=reason: Example(
                    reason, raw=None if row.get("raw") is None else str(row["raw"]),
                    detail=str(row.get("error") or ""), where=_where(row)))  # fmt: skip
        # Selection's rejects name the sample and the reason; the filter is the one that counts that reason.
        by_reason: dict[str, str] = {}
        for s in steps.values():
            if s.group == "selection":
                for reason in s.rejected:
                    by_reason.setdefault(reason, s.name)
        select_file = self.path / "rejects" / "select.jsonl"
        if select_file.exists():
            taken, target = 0, enough({r: c for s in steps.values() if s.group == "selection" for r, c in s.rejected.items()})
            for row in _iter_jsonl(select_file):
                if taken == target:
                    break
                reason = str(row.get("reason", "unknown"))
                taken += take(by_reason.get(reason, "selection"), reason, lambda row=row, reason=reason: Example(
                    reason, where=f"instruction {row.get('instruction')}", sample=row.get("sample")))
        details: dict[str, str] = {}
        outcomes = self._outcomes(take, {ex.sample for b in found.values() for ex in b if ex.sample}, details)
        records = self.find_records({ex.sample for bucket in found.values() for ex in bucket if ex.sample})
        for bucket in found.values():
            for ex in bucket:
                if ex.sample:
                    data = (records.get(ex.sample) or {}).get("data") or {}
                    text = data.get("response") or data.get("solution")
                    ex.raw = ex.raw if ex.raw is not None else (None if text is None else str(text))
                    ex.detail = ex.detail or details.get(ex.sample, "")
                    ex.where = f"sample {ex.sample}" + (f", {ex.where}" if ex.where else "")
        return found, outcomes

    def sandbox_usage(self) -> dict[str, Any] | None:
        """Programs run, CPU and wall seconds summed from the outcomes, and outcomes by kind (None: no execution)."""
        outcomes = self._outcomes(lambda *args: False, set(), {}, properties=False)
        return outcomes.usage() if outcomes is not None else None

    def _instruction_properties(self) -> dict[str, tuple[str, ...]]:
        stage = self.stage_of("instruction")
        if stage is None:
            return {}
        props = {}
        for row in self.rd.iter_rows(stage):
            if row.get("kind") != "instruction":
                continue
            data = row.get("data") or {}
            props[row["id"]] = tuple(str(data.get(p) or "unknown") for p in PROPERTIES)
        return props

    def _outcomes(self, take: Any, wanted: set[str], details: dict[str, str], properties: bool = True) -> Outcomes | None:
        """Sum every execution row; fill `details` with what went wrong for the samples in `wanted`."""
        stage = self.stage_of(EXECUTION)
        if stage is None:
            return None
        props = self._instruction_properties() if properties else {}
        result = Outcomes()
        tallies: dict[str, dict[str, list[int]]] = {p: {} for p in PROPERTIES}  # value -> [samples, executed, passed]
        unknown = ("unknown",) * len(PROPERTIES)
        for row in self.rd.iter_rows(stage):
            outcome = row.get("outcome")
            if outcome is None:
                status, executed = f"not run: {row.get('reason', 'unknown')}", False
            else:
                status = outcome.get("status", "unknown")
                executed = status != "sandbox_error"
                result.programs += 1
                result.cpu_seconds += float(outcome.get("cpu_time") or 0.0)
                result.wall_seconds += float(outcome.get("duration") or 0.0)
                if outcome.get("error_type"):
                    result.error_types[outcome["error_type"]] += 1
                if row.get("sample") in wanted:
                    details[row["sample"]] = _outcome_text(outcome)
            result.statuses[status] += 1
            passed = status == "passed"
            for prop, value in zip(PROPERTIES, props.get(row.get("instruction"), unknown), strict=True):
                t = tallies[prop].get(value)
                if t is None:
                    t = tallies[prop][value] = [0, 0, 0]
                t[0] += 1
                t[1] += executed
                t[2] += passed
            if not passed:
                take(stage, status, lambda row=row, status=status, outcome=outcome: Example(
                    status, sample=row.get("sample"), detail=_outcome_text(outcome) if outcome else ""))
        for prop, rows in tallies.items():
            result.pass_rates[prop] = {
                value: {"samples": n, "executed": e, "passed": p, "pass_rate": round(p / e, 4) if e else None}
                for value, (n, e, p) in sorted(rows.items())
            }
        return result

    # -- records by id, and the lineage of final examples --------------------------------------------------------

    def find_records(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The stored records with these ids, from one pass over the stages (only matching lines are parsed)."""
        found: dict[str, dict[str, Any]] = {}
        wanted = {i for i in ids if i}
        for name in self.stages:
            if not wanted - found.keys():
                break
            if self.kinds.get(name) == EXECUTION:
                continue
            for index in self.rd.shards(name):
                with (self.rd.stage_dir(name) / f"{index:05d}.jsonl").open(encoding="utf-8") as fh:
                    for line in fh:
                        m = _ID.match(line)
                        if m and m.group(1) in wanted and m.group(1) not in found:
                            found[m.group(1)] = json.loads(line)
        return found

    def final_rows(self, name: str = "sft") -> Iterator[dict[str, Any]]:
        p = self.path / "final" / f"{name}.jsonl"
        if p.exists():
            yield from _iter_jsonl(p)

    def seed_provenance(self) -> dict[str, dict[str, Any]]:
        """Seed id -> provenance (path, repo, commit, license, license class) for every seed behind a final example."""
        ids = {(row.get("lineage") or {}).get("seed") for row in self.final_rows()}
        ids.discard(None)
        return {i: _seed_source(r) for i, r in self.find_records(ids).items()}

    def traced(self, limit: int) -> list[dict[str, Any]]:
        """The first `limit` final examples, each with the records of its lineage (`records`: kind -> row)."""
        shown = []
        for row in self.final_rows():
            if len(shown) >= limit:
                break
            shown.append(row)
        ids = {v for row in shown for v in (row.get("lineage") or {}).values() if isinstance(v, str)}
        records = self.find_records(ids)
        for row in shown:
            row["records"] = {k: records[v] for k, v in (row.get("lineage") or {}).items()
                              if isinstance(v, str) and v in records}  # fmt: skip
        return shown

    def source_counts(self, seeds: dict[str, dict[str, Any]]) -> dict[str, Counter]:
        """How many final examples come from each license, license class and repository."""
        counts: dict[str, Counter] = {"license": Counter(), "license_class": Counter(), "repo": Counter()}
        for row in self.final_rows():
            source = seeds.get((row.get("lineage") or {}).get("seed")) or {}
            for key, counter in counts.items():
                counter[str(source.get(key) or "unknown")] += 1
        return counts

    def seeds_curation(self) -> dict[str, Any] | None:
        """The `codealign curate` funnel next to the run's seeds file, when the seeds came from curate."""
        path = (self.config.get("seeds") or {}).get("path")
        if not path:
            return None
        from codealign.curate.report import side_path

        p = Path(path)
        candidates = [side_path(p, "funnel.json")] if p.suffix else []
        for c in candidates:
            if c.is_file():
                try:
                    return {"path": str(c), **json.loads(c.read_text(encoding="utf-8"))}
                except (OSError, json.JSONDecodeError):
                    return None
        return None


def _seed_source(row: dict[str, Any]) -> dict[str, Any]:
    """Where a seed came from: the source file's path, lines, repository, commit and license (and its class)."""
    prov = dict(row.get("provenance") or {})
    if prov.get("license") and not prov.get("license_class"):
        from codealign.curate.licenses import classify

        prov["license_class"] = classify(str(prov["license"]))
    keys = ("path", "lines", "repo", "commit", "license", "license_class", "source", "line", "name", "source_id")
    out = {k: prov[k] for k in keys if prov.get(k) is not None}
    out["id"] = row.get("id")
    out["seed"] = (row.get("data") or {}).get("seed")
    return out


def _where(row: dict[str, Any]) -> str:
    if row.get("source") is not None:
        return f"{row['source']}:{row.get('line', '?')}"
    parts = []
    if row.get("input"):
        parts.append(f"input {row['input']}")
    if row.get("sample_index") is not None:
        parts.append(f"sample {row['sample_index']}")
    return ", ".join(parts)


def _outcome_text(outcome: dict[str, Any]) -> str:
    """What a failed run says: the exception and message, else the tail of stderr."""
    head = ": ".join(str(x) for x in (outcome.get("error_type"), outcome.get("error")) if x)
    tail = (outcome.get("stderr") or "").strip()[-600:]
    return "\n".join(x for x in (head, tail) if x)


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
