"""Training data: read each source, map its fields, encode it in its format, hold out an eval split, apply weights.

A source is a codealign run directory (its `final/sft.jsonl` or `final/dpo.jsonl`, by stage), a JSONL/Parquet file or
folder, or a Hugging Face dataset id. Every row that makes no example is counted with its reason (too long, a
missing field, an empty response, ...), per source. The eval split takes whole groups (the examples of one row, or
of one repository) before weights are applied, so no eval example is a copy of a training one. A weight of 0.5 keeps
a seeded half of a source's training examples, 2 keeps every one twice, 1.5 every one once and a seeded half again.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError, InputError
from codealign.records import BadLine, content_hash, get_field, iter_rows

TOKEN_KEYS = {"sft": ("input_ids", "labels"), "dpo": ("prompt_ids", "chosen_ids", "rejected_ids")}


@dataclass
class SourceStats:
    """What one source gave: rows read, examples made, rows dropped by reason, eval and training examples."""

    path: str
    format: str
    weight: float
    kind: str = "file"  # run, file, hf
    file: str = ""
    rows: int = 0
    examples: int = 0
    dropped: Counter = field(default_factory=Counter)
    eval: int = 0
    train: int = 0
    tokens: int = 0  # training tokens, after weights
    extra: Counter = field(default_factory=Counter)  # per-format tallies: FIM modes, windows, repositories

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "file": self.file, "format": self.format, "weight": self.weight,
                "rows": self.rows, "examples": self.examples, "dropped": dict(self.dropped.most_common()),
                "eval": self.eval, "train": self.train, "train_tokens": self.tokens, "extra": dict(self.extra)}  # fmt: skip


@dataclass
class Prepared:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    sources: list[SourceStats]
    fingerprint: str

    def as_dict(self) -> dict[str, Any]:
        return {"train": len(self.train), "eval": len(self.eval), "sources": [s.as_dict() for s in self.sources],
                "fingerprint": self.fingerprint}  # fmt: skip


# -- reading -------------------------------------------------------------------------------------------------------


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "final").is_dir() or (path / "config.resolved.yaml").is_file())


def resolve_source(path: str, stage: str) -> tuple[str, Path | None]:
    """(kind, local file or folder): a run directory means its final file for the stage; else a local path or a hub id."""
    p = Path(path).expanduser()
    if is_run_dir(p):
        final = p / "final" / f"{stage}.jsonl"
        if not final.is_file():
            raise InputError(f"run directory {p} has no final/{stage}.jsonl; finish it with `codealign run` first")
        return "run", final
    if p.exists():
        return "file", p
    if path.startswith(("/", "./", "../", "~")) or path.endswith((".jsonl", ".json", ".parquet")) or path.count("/") != 1:
        raise InputError(f"data not found: {path} (a run directory, a .jsonl/.parquet file or folder, or a hub dataset id)")
    return "hf", None


def read_hf(path: str, name: str | None, split: str) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError as exc:
        from codealign.errors import MissingDependency

        raise MissingDependency("datasets", "hf", purpose=f"reading the Hugging Face dataset {path}") from exc
    try:
        ds = datasets.load_dataset(path, name, split=split)
    except Exception as exc:  # the hub raises many types; all mean "cannot get this dataset"
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"cannot load Hugging Face dataset {path!r} ({reason}); download it and give the files") from None
    return [dict(row) for row in ds]


def field_paths(rows: list[dict[str, Any]], fmt: Any, mapping: dict[str, str], where: str) -> dict[str, str]:
    """Our field name -> the row path to read: the source's `fields` entry, else the first candidate rows have."""
    unknown = sorted(set(mapping) - set(fmt.fields))
    if unknown:
        raise ConfigError(f"{where}: fields names {', '.join(unknown)}, which format {fmt.name!r} does not read "
                          f"(it reads {', '.join(fmt.fields)})")  # fmt: skip
    sample = rows[:200]
    out = {}
    for name, candidates in fmt.fields.items():
        if name in mapping:
            out[name] = mapping[name]
            continue
        found = next((c for c in candidates if any(get_field(r, c) is not None for r in sample)), None)
        if found is not None:
            out[name] = found
        elif name not in fmt.optional and sample:
            raise ConfigError(f"{where}: no {name!r} field (tried {', '.join(candidates)}); name it with "
                              f"fields: {{{name}: your_field}}")  # fmt: skip
    return out


# -- preparing -----------------------------------------------------------------------------------------------------


def prepare(config: Any, formats: dict[str, Any], console: Any = None) -> Prepared:
    """Every source read, encoded and counted; the eval split held out; weights applied. `formats` by format name."""
    stage = config.stage
    stats: list[SourceStats] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    owner: dict[str, int] = {}
    for si, src in enumerate(config.data):
        fmt = formats[src.format or config.format]
        kind, local = resolve_source(src.path, stage)
        st = SourceStats(src.path, fmt.name, src.weight, kind, str(local or src.path))
        stats.append(st)
        if local is None:
            rows = read_hf(src.path, src.name, src.split)
        else:
            bad: list[BadLine] = []
            rows = list(iter_rows(local, bad))
            st.dropped.update({"unreadable row": len(bad)} if bad else {})
            st.rows += len(bad)
        if src.limit is not None:
            rows = rows[: src.limit]
        st.rows += len(rows)
        paths = field_paths(rows, fmt, src.fields, f"data[{si}] ({src.path})")
        items = [{name: get_field(row, p) for name, p in paths.items()} for row in rows]
        for _, out in fmt.encode_rows(items, f"{si}"):
            if isinstance(out, str):
                st.dropped[out] += 1
                continue
            for ex in out:
                st.examples += 1
                for tally in ("fim", "window"):
                    if tally in ex:
                        st.extra[f"{tally}:{ex[tally]}" if tally == "fim" else "windows"] += 1
                g = f"{si}:{ex['group']}"
                groups.setdefault(g, []).append(ex)
                owner[g] = si
    total_rows = sum(s.rows for s in stats)
    if not groups:
        why = Counter()
        for s in stats:
            why.update(s.dropped)
        reasons = ", ".join(f"{r} {n}" for r, n in why.most_common()) or "no rows"
        raise InputError(f"no training examples in the data ({total_rows} rows; dropped: {reasons}; "
                         f"max_length {config.max_length})")  # fmt: skip

    rng = random.Random(f"{config.seed}:split")
    names = list(groups)  # sources in config order, rows in file order
    rng.shuffle(names)
    n_eval = int(config.eval_size) if config.eval_size >= 1 else int(config.eval_size * len(names))
    if n_eval >= len(names):
        raise ConfigError(f"eval_size {config.eval_size} leaves no training examples ({len(names)} in all)")
    held = set(names[:n_eval])
    train: list[dict[str, Any]] = []
    evaluation: list[dict[str, Any]] = []
    per_source: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(stats))}
    for g in groups:  # the training set keeps the rows' order; the trainer's sampler shuffles
        if g in held:
            evaluation += groups[g]
            stats[owner[g]].eval += len(groups[g])
        else:
            per_source[owner[g]] += groups[g]
    keys = TOKEN_KEYS[stage]
    for si, examples in per_source.items():
        chosen = weighted(examples, config.data[si].weight, random.Random(f"{config.seed}:weight:{si}"))
        stats[si].train = len(chosen)
        stats[si].tokens = sum(len(ex[k]) for ex in chosen for k in keys if k != "labels")
        train += chosen
    if not train:
        raise InputError("no training examples left after the eval split and weights")
    train = [{k: ex[k] for k in keys} for ex in train]
    evaluation = [{k: ex[k] for k in keys} for ex in evaluation]
    return Prepared(train, evaluation, stats, fingerprint(train, evaluation))


def weighted(examples: list[dict[str, Any]], weight: float, rng: random.Random) -> list[dict[str, Any]]:
    whole, part = int(weight), weight - int(weight)
    out = examples * whole
    if part > 0 and examples:
        out += rng.sample(examples, round(part * len(examples)))
    return out


def fingerprint(train: list[dict[str, Any]], evaluation: list[dict[str, Any]]) -> str:
    """A hash of every token of the prepared data: a resumed run must train on exactly this."""
    h = hashlib.blake2b(digest_size=12)
    for part in (train, evaluation):
        for ex in part:
            h.update(json.dumps(ex, sort_keys=True, separators=(",", ":")).encode())
        h.update(b"|")
    return h.hexdigest()


def run_info(run_dir: Path) -> dict[str, Any]:
    """What a model card says about a codealign run: its config hash, final counts and the licenses of its seeds."""
    from codealign.runs import CONFIG_FILE, RunDir

    info: dict[str, Any] = {"run_dir": str(run_dir)}
    cfg = run_dir / CONFIG_FILE
    if cfg.is_file():
        info["config_hash"] = content_hash(cfg.read_text(encoding="utf-8"), 16)
    funnel = RunDir(run_dir).read_json("funnel.json") or {}
    if funnel.get("final"):
        info["final"] = funnel["final"]
    used: set[str] = set()
    sft = run_dir / "final" / "sft.jsonl"
    if sft.is_file():
        for row in iter_rows(sft, []):
            seed = (row.get("lineage") or {}).get("seed")
            if seed:
                used.add(seed)
    licenses: Counter = Counter()
    rd = RunDir(run_dir)
    for row in rd.iter_rows("seeds"):
        if used and row.get("id") not in used:
            continue
        prov = row.get("provenance") or {}
        licenses[str(prov.get("license") or "unknown")] += 1
    if licenses:
        info["seed_licenses"] = dict(licenses.most_common())
    return info
