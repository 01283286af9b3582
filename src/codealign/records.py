"""The record that flows through every stage, its content-hash id, and its JSONL/Parquet IO.

A record is plain data: `data` holds the payload fields (seed, concepts, instruction, response, ...), `parents` the
ids it was made from, and `provenance` where it came from (source repo/path/license, or method/model/prompt hash).
Its `id` is a hash of its kind, data and parents, so the same content always gets the same id.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.errors import InputError


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the text that content hashes are taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(obj: Any, length: int = 32) -> str:
    """Hex digest (blake2b) of an object's canonical JSON, or of a str/bytes as is."""
    if isinstance(obj, bytes):
        raw = obj
    elif isinstance(obj, str):
        raw = obj.encode()
    else:
        raw = canonical_json(obj).encode()
    return hashlib.blake2b(raw, digest_size=length // 2).hexdigest()


@dataclass(slots=True)
class Record:
    kind: str
    data: dict[str, Any]
    parents: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        self.parents = tuple(self.parents)
        if not self.id:
            self.id = content_hash({"kind": self.kind, "data": self.data, "parents": list(self.parents)}, 20)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "parents": list(self.parents),
            "data": self.data,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(
            kind=d["kind"],
            data=d["data"],
            parents=tuple(d.get("parents", ())),
            provenance=d.get("provenance", {}),
            id=d.get("id", ""),
        )


# ---------------------------------------------------------------------------------------------------------------
# IO


@dataclass(slots=True)
class BadLine:
    """A line of an input file that could not be read; reported with its number, never fatal."""

    path: str
    lineno: int
    reason: str


def iter_jsonl(path: str | os.PathLike, errors: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, one per non-blank line.

    Malformed lines are appended to `errors` (when given) and skipped; without `errors` they raise InputError.
    """
    for _, obj in iter_jsonl_numbered(path, errors):
        yield obj


def iter_jsonl_numbered(
    path: str | os.PathLike, errors: list[BadLine] | None = None, what: str = "input file"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`iter_jsonl` with each object's line number; `what` names the file in the not-found error."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    with p.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                bad = BadLine(str(p), lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
            else:
                if isinstance(obj, dict):
                    yield lineno, obj
                    continue
                bad = BadLine(str(p), lineno, f"expected a JSON object, got {type(obj).__name__}")
            if errors is None:
                raise InputError(f"{bad.path}:{bad.lineno}: {bad.reason}")
            errors.append(bad)


def iter_parquet(path: str | os.PathLike, batch_size: int = 1024) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        from codealign.errors import MissingDependency

        raise MissingDependency("pyarrow", "parquet", purpose="reading Parquet files") from exc
    p = Path(path)
    if not p.exists():
        raise InputError(f"input file not found: {p}")
    for batch in pq.ParquetFile(p).iter_batches(batch_size=batch_size):
        yield from batch.to_pylist()


def iter_rows(path: str | os.PathLike, errors: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL (.jsonl/.json/.jsonl.gz not supported) or Parquet file, chosen by suffix."""
    p = Path(path)
    if p.is_dir():
        files = sorted([*p.glob("*.jsonl"), *p.glob("*.parquet")])
        if not files:
            raise InputError(f"no .jsonl or .parquet files in folder: {p}")
        for f in files:
            yield from iter_rows(f, errors)
        return
    if p.suffix == ".parquet":
        yield from iter_parquet(p)
    else:
        yield from iter_jsonl(p, errors)


class AtomicWriter:
    """Write a file under a temporary name, fsync, then rename: readers never see a partial file."""

    def __init__(self, path: str | os.PathLike, mode: str = "w") -> None:
        self.path = Path(path)
        self.mode = mode
        self._fh: Any = None
        self._tmp = ""

    def __enter__(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = _create_temp(self.path)
        self._fh = os.fdopen(fd, self.mode, encoding=None if "b" in self.mode else "utf-8")
        return self._fh

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
                _fsync_dir(self.path.parent)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file next to `path`, created with mode 0666 so the umask decides its permissions, as for `open()`.

    (`tempfile.mkstemp` would make every output 0600 whatever the umask.)
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any] | Record]) -> int:
    """Atomically write rows (dicts or Records) as JSONL; returns the number written."""
    n = 0
    with AtomicWriter(path) as fh:
        for row in rows:
            if isinstance(row, Record):
                row = row.to_dict()
            fh.write(json.dumps(row, ensure_ascii=False, default=str))
            fh.write("\n")
            n += 1
    return n


def write_rows(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSONL or Parquet, by the path's suffix."""
    p = Path(path)
    if p.suffix != ".parquet":
        return write_jsonl(p, rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        from codealign.errors import MissingDependency

        raise MissingDependency("pyarrow", "parquet", purpose="writing Parquet files") from exc
    table = pa.Table.from_pylist(list(rows))
    with AtomicWriter(p, "wb") as fh:
        pq.write_table(table, fh)
    return table.num_rows
