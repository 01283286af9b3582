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
from codealign.curate.filters import FILE_HEURISTICS, SEED_RULES
from codealign.curate.report import Funnel, progress_bar, side_path
from codealign.errors import ConfigError, FileAccessError
from codealign.records import AtomicWriter, BadLine
from codealign.scale.config import ExecutorKind, RayOptions

LicenseClass = Literal["permissive", "copyleft", "unknown"]


class CurateConfig(StrictModel):
    unit: Literal["function", "file"] = "function"
    rev: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["python"], description="python, cpp, java, go, rust, javascript, typescript, shell")
    suffixes: list[str] | None = Field(None, description="file suffixes to read (default: those of `languages`)")
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
    workers: int = Field(1, ge=1, description="processes for per-file work and MinHash signatures")
    limit: int | None = Field(None, ge=1, description="stop after this many source files")
    executor: ExecutorKind = Field("local", description="local (this machine, `workers` processes) or ray")
    ray: RayOptions = Field(default_factory=RayOptions, description="the cluster and each task's resources")


def run_curate(source: str, output: str | Path, config: CurateConfig | None = None, show: bool = True) -> dict[str, Any]:
    """Curate `source` into seed rows at `output`; returns the funnel (also written next to the output)."""
    from codealign.curate.decontam import DecontamReport
    from codealign.curate.perfile import FileWorker
    from codealign.curate.readers import open_source

    cfg = config or CurateConfig()
    out = Path(output)
    if out.suffix != ".jsonl":
        raise ConfigError(f"output must be a .jsonl file, got {out}")
    t0 = time.perf_counter()
    worker = FileWorker(cfg)  # also checks filter names, the opt-out file and benchmarks before any work
    executor = None
    if cfg.executor == "ray":
        from codealign.scale.executor import RayExecutor

        executor = RayExecutor(cfg.ray)
    report = DecontamReport()
    funnel = Funnel(side_path(out, "rejects.jsonl"))
    licenses: Counter[str] = Counter()
    license_sources: Counter[str] = Counter()  # what decided each file's license
    skipped: list[BadLine] = []
    spill = side_path(out, "spill.tmp.jsonl")
    keys: list[bytes] = []
    ranks: list[tuple[int, str]] = []
    ok = False
    try:
        suffixes = tuple(cfg.suffixes) if cfg.suffixes is not None else tuple(worker.by_suffix)
        files = open_source(source, rev=cfg.rev, suffixes=suffixes,
                            content_field=cfg.content_field, split=cfg.split, skipped=skipped)  # fmt: skip
        with progress_bar() as bar, spill.open("w", encoding="utf-8") as sp:
            task = bar.add_task("reading", total=None, note="")
            n_files = 0
            for f, events in _processed(files, worker, cfg, executor):
                n_files += 1
                licenses[f.license_class] += 1
                license_sources[_source_kind(f.license_source)] += 1
                for ev in events:
                    kind = ev[0]
                    if kind == "seed":
                        sp.write(json.dumps(ev[1], ensure_ascii=False) + "\n")
                        keys.append(ev[2])
                        ranks.append(ev[3])
                    elif kind == "reject":
                        funnel.reject(ev[1], ev[2], ev[3])
                    elif kind == "keep":
                        funnel.keep(ev[1])
                    elif kind == "changed":
                        funnel.step(ev[1]).changed.update(ev[2])
                    elif kind == "matches":
                        report.add(ev[1])
                    elif kind == "functions":
                        funnel.extra["functions"] = funnel.extra.get("functions", 0) + ev[1]
                bar.update(task, advance=1, note=f"{len(keys):,} kept")
                if cfg.limit and n_files >= cfg.limit:
                    break
            for bad in skipped:
                funnel.reject("files", f"unreadable: {bad.reason}", {"path": bad.path, "line": bad.lineno})
            bar.update(task, description="read", total=n_files, completed=n_files)
            sp.flush()
            keep = _dedup(cfg, spill, keys, ranks, funnel, bar, executor)
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
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise FileAccessError.wrap(exc, spill, "write") from None  # the one file written here without a wrapper
    finally:
        funnel.close(ok)
        spill.unlink(missing_ok=True)
        if executor is not None:
            funnel.extra["executor"] = executor.describe()
            executor.close()
    funnel.extra.update({
        "source": source, "output": str(out), "unit": cfg.unit, "written": written, "files": n_files,
        "licenses": dict(licenses), "license_sources": dict(license_sources), "decontamination": report.to_dict(), "seconds": round(time.perf_counter() - t0, 2),
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


def _source_kind(source: str | None) -> str:
    """The kind of source that decided a license, for the funnel's counts."""
    if source is None:
        return "none"
    if source.startswith("package "):
        return "package metadata"
    if source.startswith("license file "):
        return "license file"
    return source


def _processed(files: Iterator[Any], worker: Any, cfg: CurateConfig, executor: Any = None, batch: int = 32
               ) -> Iterator[tuple[Any, list]]:  # fmt: skip
    """(file, events) in file order; with `workers` > 1 or a cluster the files are processed batch by batch."""
    if cfg.workers <= 1 and executor is None:
        for f in files:
            yield f, worker.process(f)
        return
    from codealign.curate.perfile import init_worker, process_batch
    from codealign.scale.executor import LocalExecutor

    ex = executor or LocalExecutor(cfg.workers)
    batches = _batches(files, batch)
    window: list[list[Any]] = []

    def remember() -> Iterator[list[Any]]:
        for chunk in batches:
            window.append(chunk)
            yield chunk

    for events in ex.map(process_batch, remember(), init=(init_worker, (cfg.model_dump(),))):
        yield from zip(window.pop(0), events, strict=True)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _dedup(cfg: CurateConfig, spill: Path, keys: list[bytes], ranks: list[tuple[int, str]], funnel: Funnel, bar: Any,
           executor: Any = None) -> list[Any]:  # fmt: skip
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
        if executor is not None:
            from codealign.scale.dedup import near_dedup_file

            mask, keeper, stats = near_dedup_file(executor, spill, "seed", alive, ranks, cfg.threshold, cfg.num_perm,
                                                  cfg.ngram, on_rows=lambda n: bar.update(task, advance=n))  # fmt: skip
        else:
            with NearDedupIndex(cfg.threshold, cfg.num_perm, cfg.ngram, workdir=spill.parent) as index:
                index.add_stream(_spilled_texts(spill, set(alive)), workers=cfg.workers,
                                 on_batch=lambda n, _b: bar.update(task, advance=n))  # fmt: skip
                mask = index.keep_mask(rank=[ranks[i] for i in alive])
                keeper = [alive[int(k)] for k in index.keeper]
                stats = vars(index.stats)
        for local, i in enumerate(alive):
            if mask[local]:
                funnel.keep("near dedup")
            else:
                keep[i] = ("near dedup", f"near_duplicate: of {ids[keeper[local]]} (J>={cfg.threshold:g})")
        funnel.extra["near_dedup"] = stats
    return keep


def _spilled_texts(spill: Path, wanted: set[int]) -> Iterator[str]:
    with spill.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i in wanted:
                yield json.loads(line)["seed"]
