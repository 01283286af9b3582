"""The record that flows through every stage, its content-hash id, and its JSONL/Parquet IO.

A record is plain data: `data` holds the payload fields (seed, concepts, instruction, response, ...), `parents` the
ids it was made from, and `provenance` where it came from (source repo/path/license, or method/model/prompt hash).
Its `id` is a hash of its kind, data and parents, so the same content always gets the same id.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.errors import FileAccessError, InputError


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


MAX_LINE_BYTES = 16 << 20  # one JSONL record; longer lines are skipped with a reason, never held in memory


def iter_jsonl_numbered(
    path: str | os.PathLike,
    errors: list[BadLine] | None = None,
    what: str = "input file",
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`iter_jsonl` with each object's line number; `what` names the file in the not-found error.

    Memory per line is bounded by `max_line_bytes`: a longer line is skipped as it is read. Lines that are not UTF-8
    are read with U+FFFD for the bad bytes and counted in one warning at the end. A file in which no line at all
    could be read is an InputError (after the lines were reported to `errors`).
    """
    usable = 0
    n_bad = 0
    first_bad: BadLine | None = None
    p = Path(path)
    for lineno, obj, reason in iter_jsonl_lines(p, what, max_line_bytes):
        if obj is not None:
            usable += 1
            yield lineno, obj
            continue
        bad = BadLine(str(p), lineno, reason)
        if errors is None:
            raise InputError(f"{bad.path}:{bad.lineno}: {bad.reason}")
        errors.append(bad)
        n_bad += 1
        first_bad = first_bad or bad
    if usable == 0 and first_bad is not None:
        raise no_usable_lines(p, n_bad, first_bad)


def iter_jsonl_lines(
    path: str | os.PathLike, what: str = "input file", max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line number, object or None, why not) for every non-blank line, in order: the one reader of JSONL input.

    Memory per line is bounded by `max_line_bytes`; lines that are not UTF-8 are counted in one warning at the end.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} is a folder, not a file: {p}")
    not_utf8: list[int] = []
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise FileAccessError.wrap(exc, p, "read") from None
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(max_line_bytes + 1)
                if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                    size = len(raw)
                    while chunk := fh.readline(1 << 20):  # skip the rest of the line without holding it
                        size += len(chunk)
                        if chunk.endswith(b"\n"):
                            break
                    raw = None
            except OSError as exc:
                raise FileAccessError.wrap(exc, p, "read") from None
            if raw == b"":
                break
            lineno += 1
            if raw is None:
                yield lineno, None, (f"line of {size / 1e6:.1f} MB is over the {max_line_bytes / 2**20:g} MiB limit "
                                     "per record")  # fmt: skip
                continue
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", "replace")
                not_utf8.append(lineno)
            if lineno == 1:
                line = line.lstrip("\ufeff")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            if isinstance(obj, dict):
                yield lineno, obj, ""
            else:
                yield lineno, None, f"expected a JSON object, got {type(obj).__name__}"
    if not_utf8:
        warn_not_utf8(p, len(not_utf8), not_utf8[0])


def warn_not_utf8(path: str | os.PathLike, lines: int, first: int) -> None:
    """One warning per file: how many lines had bytes that are not UTF-8 (read as U+FFFD)."""
    import warnings

    from codealign.errors import CodealignWarning

    warnings.warn(CodealignWarning(
        f"{path}: {lines:,} line{'s' if lines != 1 else ''} {'are' if lines != 1 else 'is'} not valid UTF-8 "
        f"(first: line {first}); the undecodable bytes were read as U+FFFD"
    ), stacklevel=2)


def no_usable_lines(path: str | os.PathLike, count: int, first: BadLine) -> InputError:
    """The error for an input in which every line was skipped: nothing to work on is a failure, not an empty success."""
    return InputError(f"no usable line in {path}: {count:,} skipped (first: line {first.lineno}: {first.reason})")


_MISSING = object()


def _walk(row: dict[str, Any], dotted: str) -> Any:
    node: Any = row
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def get_field(row: dict[str, Any], dotted: str) -> Any:
    """`row["a"]["b"]` for "a.b"; None when any part is missing."""
    node = _walk(row, dotted)
    return None if node is _MISSING else node


def has_field(row: dict[str, Any], dotted: str) -> bool:
    """Whether the dotted path exists in `row` (its value may be null)."""
    return _walk(row, dotted) is not _MISSING


def field_paths(row: dict[str, Any], depth: int = 2) -> list[str]:
    """The dotted paths of a row, nested dicts to `depth` levels: what a user may name with --field."""
    out = []
    for key, value in row.items():
        out.append(str(key))
        if depth > 1 and isinstance(value, dict):
            out.extend(f"{key}.{sub}" for sub in field_paths(value, depth - 1))
    return out


def require_fields(rows: Iterable[dict[str, Any]], fields: Iterable[str], source: object,
                   also_under: str | None = None) -> Iterator[dict[str, Any]]:
    """`rows` unchanged, after checking that the first one has every field: a field name that matches nothing
    would otherwise pass every row as clean or reject every row. `also_under`: a key whose dict is searched too."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    nested = first.get(also_under) if also_under else None
    missing = [f for f in fields
               if not has_field(first, f) and not (isinstance(nested, dict) and has_field(nested, f))]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise InputError(f"no field {names} in {source}; its rows have: {', '.join(field_paths(first)) or 'no fields'}")
    yield first
    yield from it


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
    """Write a file under a temporary name, fsync, then rename: readers never see a partial file.

    Any filesystem error while writing (read-only folder, full disk, a file where a folder must be) removes the
    temporary file and is raised as one FileAccessError naming the path and the reason.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "w") -> None:
        self.path = Path(path)
        self.mode = mode
        self._fh: Any = None
        self._tmp = ""

    def __enter__(self) -> Any:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = _create_temp(self.path)
        except OSError as exc:
            raise FileAccessError.wrap(exc, self.path, "write") from None
        self._fh = os.fdopen(fd, self.mode, encoding=None if "b" in self.mode else "utf-8")
        return self._fh

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        group = _GROUP.get()
        kept = False
        try:
            if exc_type is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
                if group is not None:  # renamed with the rest of its group, by output_group()
                    group.append((self._tmp, self.path))
                    kept = True
                else:
                    os.replace(self._tmp, self.path)
                    _fsync_dir(self.path.parent)
            else:
                with contextlib.suppress(OSError):  # a full disk fails the last flush too; the first error counts
                    self._fh.close()
        except OSError as err:
            with contextlib.suppress(OSError):
                self._fh.close()
            raise FileAccessError.wrap(err, self.path, "write") from None
        finally:
            if not kept:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)
        if isinstance(exc, OSError) and exc.filename in (None, self._tmp):
            raise FileAccessError.wrap(exc, self.path, "write") from None


_GROUP: contextvars.ContextVar[list[tuple[str, Path]] | None] = contextvars.ContextVar("codealign_outputs", default=None)


@contextlib.contextmanager
def output_group() -> Iterator[None]:
    """Every AtomicWriter finished inside this block keeps its file under the temporary name until the block ends
    without error; then all are renamed into place together. After an error none of them appears, so a command's
    outputs (data, rejects, funnel) are all there or none is, and a failed command never looks finished.

    Files written in the block cannot be read back by their final name before it ends.
    """
    if _GROUP.get() is not None:  # nested: the outer group decides
        yield
        return
    pending: list[tuple[str, Path]] = []
    token = _GROUP.set(pending)
    try:
        yield
    except SystemExit as exc:
        if exc.code not in (0, None):  # a command that exits with success still succeeded
            _discard(pending)
            raise
        _GROUP.reset(token)
        _commit(pending)
        raise
    except BaseException:
        _discard(pending)
        raise
    finally:
        if _GROUP.get() is pending:
            _GROUP.reset(token)
    _commit(pending)


@contextlib.contextmanager
def immediate_outputs() -> Iterator[None]:
    """Inside an output_group, files written here are renamed into place at once (a run's shards and markers,
    which resume depends on, and files read back before the command ends)."""
    token = _GROUP.set(None)
    try:
        yield
    finally:
        _GROUP.reset(token)


def _discard(pending: list[tuple[str, Path]]) -> None:
    for tmp, _ in pending:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _commit(pending: list[tuple[str, Path]]) -> None:
    folders = []
    for i, (tmp, path) in enumerate(pending):
        try:
            os.replace(tmp, path)
        except OSError as exc:
            for rest, _ in pending[i:]:
                with contextlib.suppress(OSError):
                    os.unlink(rest)
            raise FileAccessError.wrap(exc, path, "write") from None
        if path.parent not in folders:
            folders.append(path.parent)
    for folder in folders:
        _fsync_dir(folder)


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


class LineWriter:
    """JSON lines written and flushed one at a time, for outputs that must survive a crash line by line.

    The lines go to `NAME.partial`; only a writer closed without error renames it to NAME, so a file under the
    final name is always complete. After a failure the partial file holds whole lines only (a line cut by a full
    disk is truncated away), or is removed when it holds none.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.lines = 0
        self._fh: Any = None
        self._good = 0  # bytes of whole lines written

    def __enter__(self) -> LineWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.partial, "wb", buffering=0)  # noqa: SIM115 - closed in __exit__
        except OSError as exc:
            raise FileAccessError.wrap(exc, self.path, "write") from None
        return self

    def write(self, row: dict[str, Any]) -> None:
        data = (json.dumps(row, ensure_ascii=False, default=str) + "\n").encode("utf-8", "surrogatepass")
        try:
            view = memoryview(data)
            while view:
                view = view[self._fh.write(view) :]
        except OSError as exc:
            raise FileAccessError.wrap(exc, self.partial, "write") from None
        self._good += len(data)
        self.lines += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            try:
                os.fsync(self._fh.fileno())
                self._fh.close()
                os.replace(self.partial, self.path)
                _fsync_dir(self.path.parent)
                return
            except OSError as err:
                exc = FileAccessError.wrap(err, self.path, "write")
        with contextlib.suppress(OSError):
            self._fh.truncate(self._good)
        with contextlib.suppress(OSError):
            self._fh.close()
        if self._good == 0:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)
        if isinstance(exc, FileAccessError) and exc_type is None:
            raise exc from None


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
