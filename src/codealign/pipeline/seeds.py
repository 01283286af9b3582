"""Reading seeds: rows of a JSONL/Parquet file (or `codealign curate` records) become `seed` records.

Bad rows are reported with their line number and skipped; exact duplicates are dropped (they would make records
with the same id downstream). Both are counted and kept as rejects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codealign.errors import InputError
from codealign.records import Record, iter_jsonl_lines


def _numbered_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line or row number, row or None, reason when None) for one file."""
    if path.suffix == ".parquet":
        from codealign.records import iter_parquet

        for n, row in enumerate(iter_parquet(path), 1):
            yield n, row, ""
        return
    yield from iter_jsonl_lines(path, what="seeds file")


def seed_files(path: str | Path) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted([*p.glob("*.jsonl"), *p.glob("*.parquet")])
        if not files:
            raise InputError(f"no .jsonl or .parquet files in seeds folder: {p}")
        return files
    if not p.exists():
        raise InputError(f"seeds file not found: {p} (set seeds.path to a JSONL or Parquet file)")
    return [p]


def iter_seeds(path: str | Path, field: str = "seed", limit: int | None = None) -> Iterator[Record | dict[str, Any]]:
    """Seed records in file order, interleaved with reject rows (dicts with a `reason`) for rows that were skipped."""
    seen: set[str] = set()
    kept = 0
    skipped: list[tuple[str, int, str]] = []
    for file in seed_files(path):
        checked = False
        for lineno, row, reason in _numbered_rows(file):
            if limit is not None and kept >= limit:
                return
            where = {"source": str(file), "line": lineno}
            if row is None:
                skipped.append((str(file), lineno, reason))
                yield {**where, "reason": reason}
                continue
            if "data" in row and "kind" in row and isinstance(row["data"], dict):  # a Record written as a dict
                row = {**row["data"], "provenance": row.get("provenance"), "_parents": row.get("parents", [])}
            if not checked:  # a field no row has is a mistake in the config: stop before any model is asked
                checked = True
                if field not in row:
                    shown = ", ".join(k for k in row if k not in ("_parents", "provenance")) or "no fields"
                    raise InputError(f"no field `{field}` in {file}; its rows have: {shown} (set seeds.field)")
            nested = row.get("provenance")
            provenance = {**(nested if isinstance(nested, dict) else {}), **where}
            code = row.get(field)
            if not isinstance(code, str) or not code.strip():
                yield {**where, "reason": f"no {field!r} text"}
                continue
            # Extra columns (repo, path, license, the curate id, ...) travel as provenance, never as data.
            for key, value in row.items():
                if key not in (field, "_parents", "provenance"):
                    provenance.setdefault("source_id" if key == "id" else key, value)
            record = Record("seed", {"seed": code}, parents=tuple(row.get("_parents", ())), provenance=provenance)
            if record.id in seen:
                yield {**where, "reason": "duplicate seed", "id": record.id}
                continue
            seen.add(record.id)
            kept += 1
            yield record
    if kept == 0 and skipped:
        first = skipped[0]
        raise InputError(f"no usable seed in {path}: {len(skipped):,} lines skipped (first: {first[0]}:{first[1]}: "
                         f"{first[2]})")  # fmt: skip
