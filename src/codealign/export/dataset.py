"""`codealign export`: a run's final SFT and DPO data as a `datasets` folder, Parquet shards or JSONL, with its card.

Every row keeps its provenance as flat columns (the seed's repository, commit, file, lines and license; method,
model, ids of the instruction and sample, the run's config hash), and the SFT rows keep their whole lineage and
provenance as JSON. The folder is written under a temporary name and renamed into place when complete.

    OUT/README.md                        the dataset card (YAML header + body)
    OUT/data/sft/train-00000-of-00001.parquet, OUT/data/dpo/...   --format parquet (what the Hub reads)
    OUT/data/sft/train.jsonl, OUT/data/dpo/train.jsonl            --format jsonl
    OUT/dataset_dict.json, OUT/sft/, OUT/dpo/                      --format hf (datasets.load_from_disk)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codealign.errors import CodealignError, ConfigError, InputError, MissingDependency
from codealign.export.rundata import RunView

Format = Literal["hf", "parquet", "jsonl"]
FORMATS = ("hf", "parquet", "jsonl")
CONFIGS = ("sft", "dpo")
# Columns shared by both configs: where the example's seed came from and what made it.
PROVENANCE = (
    ("seed_id", "string"), ("source_repo", "string"), ("source_commit", "string"), ("source_path", "string"),
    ("source_lines", "list<int64>"), ("source_license", "string"), ("source_license_class", "string"),
    ("seed_file", "string"), ("method", "string"), ("method_version", "string"), ("model", "string"),
    ("instruction_id", "string"), ("run_config_hash", "string"),
)  # fmt: skip
COLUMNS = {
    "sft": (
        ("instruction", "string"), ("response", "string"), ("tests", "string"), ("category", "string"),
        ("difficulty", "string"), ("language", "string"), ("concepts", "list<string>"), ("seed", "string"),
        *PROVENANCE, ("sample_id", "string"), ("sample_index", "int64"), ("execution_status", "string"),
        ("execution_key", "string"), ("lineage", "string"), ("provenance", "string"),
    ),
    "dpo": (
        ("prompt", "string"), ("chosen", "string"), ("rejected", "string"), ("rejected_status", "string"),
        *PROVENANCE, ("chosen_id", "string"), ("rejected_id", "string"),
    ),
}  # fmt: skip


class PushError(CodealignError):
    """The Hub refused or could not be reached."""


@dataclass
class Exported:
    path: Path
    rows: dict[str, int]
    files: list[str]
    license: Any
    pushed: str | None = None


def arrow_schema(config: str) -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "list<string>": pa.list_(pa.string()),
             "list<int64>": pa.list_(pa.int64())}  # fmt: skip
    return pa.schema([(name, types[t]) for name, t in COLUMNS[config]])


# -- rows ------------------------------------------------------------------------------------------------------


class Rows:
    """The export's rows, built from the run's final files and the seeds behind them."""

    def __init__(self, view: RunView) -> None:
        self.view = view
        self.seeds = view.seed_provenance()
        info = view.method()
        self.common = {"method": info["method"], "method_version": _str(info["method_version"]),
                       "model": _str(info["model"]), "run_config_hash": view.config_hash()}  # fmt: skip
        # Which seed each instruction grew from, for the DPO rows (whose chosen response is that SFT row's).
        self.seed_of: dict[str, str] = {}
        for row in view.final_rows("sft"):
            lineage = row.get("lineage") or {}
            if lineage.get("instruction") and lineage.get("seed"):
                self.seed_of[lineage["instruction"]] = lineage["seed"]

    def source(self, seed_id: str | None) -> dict[str, Any]:
        seed = self.seeds.get(seed_id or "") or {}
        lines = seed.get("lines")
        where = f"{seed['source']}:{seed.get('line', '?')}" if seed.get("source") else None
        return {
            "seed_id": seed_id, "source_repo": _str(seed.get("repo")), "source_commit": _str(seed.get("commit")),
            "source_path": _str(seed.get("path")),
            "source_lines": [int(x) for x in lines] if isinstance(lines, list) else None,
            "source_license": _str(seed.get("license")), "source_license_class": _str(seed.get("license_class")),
            "seed_file": where,
        }  # fmt: skip

    def sft(self) -> Iterator[dict[str, Any]]:
        for row in self.view.final_rows("sft"):
            lineage = row.get("lineage") or {}
            execution = lineage.get("execution") if isinstance(lineage.get("execution"), dict) else {}
            seed = self.seeds.get(lineage.get("seed") or "") or {}
            concepts = row.get("concepts")
            yield {
                "instruction": row.get("instruction"), "response": row.get("response"), "tests": row.get("tests"),
                "category": _str(row.get("category")), "difficulty": _str(row.get("difficulty")),
                "language": _str(row.get("language")),
                "concepts": [str(c) for c in concepts] if isinstance(concepts, list) else None,
                "seed": seed.get("seed"), **self.source(lineage.get("seed")), **self.common,
                "instruction_id": lineage.get("instruction"), "sample_id": lineage.get("sample"),
                "sample_index": lineage.get("sample_index"), "execution_status": execution.get("status"),
                "execution_key": execution.get("key"),
                "lineage": json.dumps(lineage, sort_keys=True, ensure_ascii=False),
                "provenance": json.dumps(row.get("provenance") or {}, sort_keys=True, ensure_ascii=False),
            }  # fmt: skip

    def dpo(self) -> Iterator[dict[str, Any]]:
        for row in self.view.final_rows("dpo"):
            instruction = row.get("instruction_id")
            yield {
                "prompt": row.get("prompt"), "chosen": row.get("chosen"), "rejected": row.get("rejected"),
                "rejected_status": row.get("rejected_status"), **self.source(self.seed_of.get(instruction)),
                **self.common, "instruction_id": instruction, "chosen_id": row.get("chosen_id"),
                "rejected_id": row.get("rejected_id"),
            }  # fmt: skip

    def rows(self, config: str) -> Iterator[dict[str, Any]]:
        """The rows of a config, with the columns in the schema's order."""
        names = [name for name, _ in COLUMNS[config]]
        for row in self.sft() if config == "sft" else self.dpo():
            yield {name: row.get(name) for name in names}

    def licenses(self) -> tuple[Counter, Counter]:
        """Examples (SFT) per seed license and per repository."""
        licenses: Counter = Counter()
        repos: Counter = Counter()
        for row in self.view.final_rows("sft"):
            seed = self.seeds.get((row.get("lineage") or {}).get("seed") or "") or {}
            licenses[str(seed.get("license") or "unknown")] += 1
            if seed.get("repo"):
                repos[str(seed["repo"])] += 1
        return licenses, repos


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- writers ---------------------------------------------------------------------------------------------------


def _write_parquet(rows: Rows, config: str, folder: Path, counts: dict[str, int], shard_rows: int) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(config)
    n_shards = max(1, -(-counts[config] // shard_rows))
    out = folder / "data" / config
    out.mkdir(parents=True, exist_ok=True)
    names = []
    it = rows.rows(config)
    for i in range(n_shards):
        batch = [row for _, row in zip(range(shard_rows), it, strict=False)]
        name = out / f"train-{i:05d}-of-{n_shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(batch, schema=schema), name)
        names.append(str(name.relative_to(folder)))
    return names


def _write_jsonl(rows: Rows, config: str, folder: Path) -> list[str]:
    from codealign.records import write_jsonl

    name = folder / "data" / config / "train.jsonl"
    write_jsonl(name, rows.rows(config))
    return [str(name.relative_to(folder))]


def _write_hf(rows: Rows, folder: Path) -> list[str]:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependency("datasets", "hf", purpose="--format hf") from exc
    parts = {}
    for config in CONFIGS:
        schema = arrow_schema(config)
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        for row in rows.rows(config):
            for name in schema.names:
                columns[name].append(row.get(name))
        parts[config] = datasets.Dataset.from_dict(columns, features=datasets.Features.from_arrow_schema(schema))
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return ["dataset_dict.json", *CONFIGS]


LAYOUT = {
    "parquet": "Files: `data/sft/*.parquet` and `data/dpo/*.parquet`, one split (`train`) per config; "
    "`datasets.load_dataset(\"parquet\", data_dir=...)` or the Hub's loader read them.",
    "jsonl": "Files: `data/sft/train.jsonl` and `data/dpo/train.jsonl`, one JSON object per line.",
    "hf": "Files: a `datasets` folder: `datasets.load_from_disk(path)` gives a `DatasetDict` with `sft` and `dpo`.",
}


def _configs(fmt: str, files: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    if fmt == "hf":
        return None
    pattern = "train-*.parquet" if fmt == "parquet" else "train.jsonl"
    return [{"config_name": c, "data_files": [{"split": "train", "path": f"data/{c}/{pattern}"}],
             **({"default": True} if c == "sft" else {})} for c in CONFIGS if files.get(c)]  # fmt: skip


# -- the job ---------------------------------------------------------------------------------------------------


def export_run(
    run_dir: str | os.PathLike,
    out: str | os.PathLike,
    fmt: Format = "parquet",
    *,
    name: str | None = None,
    license: str | None = None,
    contact: str | None = None,
    force: bool = False,
    shard_rows: int = 100_000,
    measure: bool = True,
    push_to_hub: str | None = None,
    private: bool = False,
) -> Exported:
    """Write the final data of `run_dir` to the folder `out` in `fmt`, with README.md; optionally push it."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if shard_rows < 1:
        raise ConfigError("--shard-rows must be at least 1")
    view = RunView(run_dir)
    if not view.finished:
        raise InputError(f"{view.path} has not finished (no run.done, the file a run writes last): finish the run "
                         "first by rerunning its `codealign run` command")  # fmt: skip
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not force:
        raise InputError(f"{target} exists and is not empty; choose another folder or pass --force to replace it")
    if fmt == "hf" or push_to_hub:
        _require_hf(fmt, push_to_hub)
    from codealign.export.qdc import run_qdc

    rows = Rows(view)
    counts = view.final_counts()
    licenses, repos = rows.licenses()
    qdc = run_qdc(view, compute=measure)
    label = name or view.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(target)
    try:
        files = _write(rows, fmt, tmp, counts, shard_rows)
        card = _card(view, label, counts, licenses, repos, qdc, fmt, files, license, contact)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    from codealign.export.card import card_license

    result = Exported(target, counts, [f for fs in files.values() for f in fs], license or card_license(licenses))
    if push_to_hub:
        result.pushed = push(view, target if fmt == "parquet" else None, push_to_hub, private, rows, counts,
                             licenses, repos, qdc, label, license, contact, shard_rows)  # fmt: skip
    return result


def _write(rows: Rows, fmt: str, folder: Path, counts: dict[str, int], shard_rows: int) -> dict[str, list[str]]:
    if fmt == "hf":
        return {"hf": _write_hf(rows, folder)}
    if fmt == "parquet":
        return {c: _write_parquet(rows, c, folder, counts, shard_rows) for c in CONFIGS}
    return {c: _write_jsonl(rows, c, folder) for c in CONFIGS}


def _card(view: RunView, label: str, counts: dict[str, int], licenses: Counter, repos: Counter, qdc: Any, fmt: str,
          files: dict[str, list[str]], license: str | None, contact: str | None) -> str:  # fmt: skip
    from codealign.export.card import card_body, metadata, render_card

    meta = metadata(view, licenses, counts["sft"], _configs(fmt, files), license, label)
    body = card_body(view, name=label, counts=counts, licenses=licenses, repos=repos, qdc=qdc, layout=LAYOUT[fmt],
                     contact=contact)  # fmt: skip
    return render_card(meta, body)


def _replace(tmp: Path, target: Path) -> None:
    """Put the finished folder in place; an existing one (only with --force) is moved aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def _new_folder(target: Path) -> Path:
    """An empty folder next to `target`, made with mode 0777 so the umask decides (mkdtemp would make it 0700)."""
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue


def _require_hf(fmt: str, push_to_hub: str | None) -> None:
    import importlib.util

    if fmt == "hf" and importlib.util.find_spec("datasets") is None:
        raise MissingDependency("datasets", "hf", purpose="--format hf")
    if push_to_hub and importlib.util.find_spec("huggingface_hub") is None:
        raise MissingDependency("huggingface_hub", "hf", purpose="--push-to-hub")


def push(view: RunView, folder: Path | None, repo: str, private: bool, rows: Rows, counts: dict[str, int],
         licenses: Counter, repos: Counter, qdc: Any, label: str, license: str | None, contact: str | None,
         shard_rows: int) -> str:  # fmt: skip
    """Upload the Parquet layout and its card to the dataset repository `repo`; returns the commit URL.

    The Hub reads Parquet, so other formats are pushed as Parquet written to a temporary folder.
    """
    from huggingface_hub import HfApi, errors

    # The HTTP client's own error class (a connection refused is not an OSError there).
    failures = (OSError, ValueError, getattr(errors, "HTTPError", OSError))

    with tempfile.TemporaryDirectory(prefix="codealign-push-") as scratch:
        if folder is None:
            folder = Path(scratch)
            files = {c: _write_parquet(rows, c, folder, counts, shard_rows) for c in CONFIGS}
            (folder / "README.md").write_text(
                _card(view, label, counts, licenses, repos, qdc, "parquet", files, license, contact), encoding="utf-8"
            )
        api = HfApi()
        try:
            api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
            commit = api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset",
                                       commit_message=f"codealign export of {view.path.name}")  # fmt: skip
        except failures as exc:
            raise PushError(f"cannot push to the Hub dataset {repo}: {_first_line(exc)}") from None
    return str(getattr(commit, "commit_url", commit))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
