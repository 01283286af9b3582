"""Content-addressed store for LLM answers and execution outcomes (SQLite, WAL, safe for concurrent writers).

Entries live in namespaces ("llm", "exec", ...) and are keyed by a content hash of everything that determines the
answer, so a key present in the store is never computed again. The store lives in `$CODEALIGN_CACHE_DIR` when set,
else the per-user cache directory; commands take `--cache-dir` to override it and `--no-cache` to bypass it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codealign.errors import CodealignError, CodealignWarning, FileAccessError
from codealign.records import content_hash

CACHE_FILE = "cache.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""
_COMPRESS_OVER = 512  # bytes; short values are stored as plain JSON text


def default_cache_dir() -> Path:
    env = os.environ.get("CODEALIGN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("codealign"))


def cache_key(obj: Any) -> str:
    """The key of an entry: a 256-bit content hash of the canonical JSON of everything that determines it."""
    return content_hash(obj, 64)


def _encode(value: Any) -> bytes:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(raw) > _COMPRESS_OVER:
        return b"z" + zlib.compress(raw, 3)
    return b"j" + raw


def _decode(blob: bytes) -> Any:
    if blob[:1] == b"z":
        return json.loads(zlib.decompress(blob[1:]))
    return json.loads(blob[1:])


class CacheDamaged(CodealignError):
    """The store is damaged and this Cache was opened with `repair=False` (as `cache stats` does)."""


# SQLite's primary result codes (the low byte of an extended code).
_CORRUPT, _NOTADB = 11, 26
_DAMAGED = {_CORRUPT, _NOTADB}
_PROBLEMS = {8: "read-only", 13: "No space left on device", 14: "cannot open the file", 10: "disk I/O error", 3: "permission denied"}
_QUICK_CHECK_UNDER = 64 << 20  # bytes; quick_check costs about 1 ms per MB, so only small stores get it on open
_MAGIC = b"SQLite format 3\x00"


def header_problem(path: Path) -> str | None:
    """What is visibly wrong with an SQLite file without reading past its header: a foreign header or a
    truncated page array (microseconds, whatever the size)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return None
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "not an SQLite database (its header is overwritten)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        return "its header is damaged (bad page size)"
    if size % page:
        return f"truncated ({size:,} bytes is not a whole number of {page}-byte pages)"
    pages = int.from_bytes(head[28:32], "big")
    if head[92:96] == head[24:28] and pages * page > size:
        return f"truncated ({size:,} of {pages * page:,} bytes)"
    return None


class Cache:
    """A namespaced key -> JSON value store. One connection per thread; safe across processes.

    A damaged store (truncated, foreign header, corrupted pages) is never fatal: it is renamed to
    `cache.sqlite3.damaged-<time>` with one warning and a new store is opened, so only what it held is computed
    again. The header is checked on every open, the whole file with `PRAGMA quick_check` when it is small, and
    every query watches for SQLite's corruption errors. A store that cannot be written (read-only, full disk) is
    one FileAccessError naming the fix. With `repair=False` a damaged store raises CacheDamaged instead.
    """

    enabled = True

    def __init__(self, directory: str | os.PathLike | None = None, repair: bool = True) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self.repair = repair
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._generation = 0  # bumped when a damaged store is set aside; older connections reopen
        self._inode: int | None = None
        self._warned_entries = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unusable(FileAccessError.wrap(exc, self.directory, "write")) from None
        problem = header_problem(self.path)
        if problem is None:
            try:
                self._check()
            except sqlite3.DatabaseError as exc:
                problem = self._damage_of(exc)
                if problem is None:
                    raise self._unusable(self._access_error(exc)) from None
        if problem is not None:
            self._damaged(problem)
            self._check()

    def _check(self) -> None:
        conn = self._conn()  # creates the schema now, so errors show up at open time
        if self.path.exists() and self.path.stat().st_size <= _QUICK_CHECK_UNDER:
            found = conn.execute("PRAGMA quick_check").fetchone()
            if found and found[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({str(found[0]).splitlines()[-1]})")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", -1) != self._generation:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
            conn = None
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            with contextlib.suppress(OSError):
                self._inode = self.path.stat().st_ino
            self._local.conn = conn
            self._local.generation = self._generation
            with self._lock:
                self._conns.append(conn)
        return conn

    # -- damage and access errors ------------------------------------------------------------------------------

    @staticmethod
    def _damage_of(exc: sqlite3.Error) -> str | None:
        code = getattr(exc, "sqlite_errorcode", None)
        text = str(exc)
        if (code is not None and code & 0xFF in _DAMAGED) or "malformed" in text or "not a database" in text:
            return text
        return None

    def _access_error(self, exc: sqlite3.Error) -> FileAccessError:
        code = getattr(exc, "sqlite_errorcode", 0) or 0
        reason = _PROBLEMS.get(code & 0xFF, str(exc))
        return FileAccessError(f"cannot write {self.path}: {reason}")

    def _unusable(self, exc: FileAccessError) -> FileAccessError:
        return FileAccessError(f"{exc}; give another cache folder (--cache-dir DIR) or run without it (--no-cache)")

    def _damaged(self, reason: str, seen: int | None = None) -> None:
        """Set the damaged store aside and start a new one (or raise CacheDamaged when not repairing).

        `seen` is the generation the failing query ran on; when another thread already replaced it, nothing is moved.
        """
        if not self.repair:
            raise CacheDamaged(
                f"the cache {self.path} is damaged: {reason}; the next command that uses it moves it aside and "
                "starts a new one, or move it aside yourself"
            )
        with self._lock:
            if seen is not None and seen != self._generation:
                return
            for conn in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
            self._local = threading.local()
            self._generation += 1
            try:
                current = self.path.stat().st_ino
            except FileNotFoundError:
                current = None
            if current is not None and self._inode is not None and current != self._inode:
                return  # another process already replaced it: use the new store
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            n = 1
            while aside.exists():
                n += 1
                aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
            try:
                for suffix in ("", "-wal", "-shm"):
                    src = Path(f"{self.path}{suffix}")
                    if src.exists():
                        os.replace(src, f"{aside}{suffix}")
            except OSError as exc:
                raise self._unusable(FileAccessError.wrap(exc, self.path, "move aside")) from None
            self._inode = None
        warnings.warn(CodealignWarning(
            f"the cache {self.path} is damaged: {reason}; moved it to {aside.name} and started a new one, "
            "so what it held is asked or run again"
        ), stacklevel=3)

    def _guarded(self, op: Any, retry: bool = True) -> Any:
        """Run `op(conn)`; damage sets the store aside and retries once on the new one; access errors are one line."""
        seen = self._generation
        try:
            return op(self._conn())
        except sqlite3.DatabaseError as exc:
            reason = self._damage_of(exc)
            if reason is None:
                raise self._unusable(self._access_error(exc)) from None
            self._damaged(reason, seen)
            if not retry:
                raise
            return op(self._conn())

    def _value(self, ns: str, key: str, blob: bytes) -> Any:
        """A stored value, or None when its bytes are damaged (the entry is then dropped and computed again)."""
        try:
            return _decode(blob)
        except (ValueError, zlib.error):
            if not self._warned_entries:
                self._warned_entries = True
                warnings.warn(CodealignWarning(f"damaged entries in the cache {self.path} were dropped; "
                                               "they are asked or run again"), stacklevel=3)
            with contextlib.suppress(sqlite3.Error, CodealignError):
                self.delete(ns, key)
            return None

    # -- the store ---------------------------------------------------------------------------------------------

    def get(self, ns: str, key: str) -> Any | None:
        row = self._guarded(lambda c: c.execute("SELECT value FROM entries WHERE ns=? AND key=?", (ns, key)).fetchone())
        return None if row is None else self._value(ns, key, row[0])

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, value FROM entries WHERE ns=? AND key IN ({marks})"
            for key, blob in self._guarded(lambda c, sql=sql, chunk=chunk: c.execute(sql, (ns, *chunk)).fetchall()):
                value = self._value(ns, key, blob)
                if value is not None:
                    found[key] = value
        return found

    def put(self, ns: str, key: str, value: Any) -> None:
        self.put_many(ns, [(key, value)])

    def put_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> int:
        now = time.time()
        rows = [(ns, k, _encode(v), now) for k, v in items]
        if not rows:
            return 0

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO entries (ns, key, value, created) VALUES (?,?,?,?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

        self._guarded(write)
        return len(rows)

    def delete(self, ns: str, key: str) -> None:
        self._guarded(lambda c: c.execute("DELETE FROM entries WHERE ns=? AND key=?", (ns, key)))

    def stats(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        query = "SELECT ns, COUNT(*), SUM(LENGTH(value)), MIN(created), MAX(created) FROM entries GROUP BY ns"
        for ns, count, size, first, last in self._guarded(lambda c: c.execute(query).fetchall()):
            out[ns] = {"entries": count, "bytes": size or 0, "first": first, "last": last}
        return out

    def iter_entries(self, ns: str | None = None) -> Iterator[tuple[str, str, Any, float]]:
        sql = "SELECT ns, key, value, created FROM entries"
        args: tuple[Any, ...] = ()
        if ns is not None:
            sql += " WHERE ns=?"
            args = (ns,)
        cursor = self._guarded(lambda c: c.execute(sql + " ORDER BY created", args))
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.DatabaseError as exc:
                reason = self._damage_of(exc)
                if reason is None:
                    raise self._unusable(self._access_error(exc)) from None
                self._damaged(reason)  # raises CacheDamaged unless repairing
                return
            if row is None:
                return
            row_ns, key, blob, created = row
            value = self._value(row_ns, key, blob)
            if value is not None:
                yield row_ns, key, value, created

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Connections do not cross process boundaries; a worker reopens the same file.
        return {"directory": self.directory, "repair": self.repair}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["directory"], state.get("repair", True))  # type: ignore[misc]


class NullCache:
    """Stores nothing and finds nothing: what `--no-cache` gives."""

    enabled = False
    path = None

    def get(self, ns: str, key: str) -> Any | None:
        return None

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Any]:
        return {}

    def put(self, ns: str, key: str, value: Any) -> None:
        return None

    def put_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> int:
        return 0

    def delete(self, ns: str, key: str) -> None:
        return None

    def stats(self) -> dict[str, dict[str, float]]:
        return {}

    def iter_entries(self, ns: str | None = None) -> Iterator[tuple[str, str, Any, float]]:
        return iter(())

    def close(self) -> None:
        return None

    def __enter__(self) -> NullCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def open_cache(cache_dir: str | os.PathLike | None = None, enabled: bool = True) -> Cache | NullCache:
    """The cache a command should use, following `--cache-dir` > $CODEALIGN_CACHE_DIR > the user cache dir."""
    if not enabled:
        return NullCache()
    return Cache(cache_dir)
