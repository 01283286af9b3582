"""Content-addressed store for LLM answers and execution outcomes (SQLite, WAL, safe for concurrent writers).

Entries live in namespaces ("llm", "exec", ...) and are keyed by a content hash of everything that determines the
answer, so a key present in the store is never computed again. The store lives in `$CODEALIGN_CACHE_DIR` when set,
else the per-user cache directory; commands take `--cache-dir` to override it and `--no-cache` to bypass it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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


class Cache:
    """A namespaced key -> JSON value store. One connection per thread; safe across processes."""

    enabled = True

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / CACHE_FILE
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._conn()  # create the schema now, so errors show up at open time

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def get(self, ns: str, key: str) -> Any | None:
        row = self._conn().execute("SELECT value FROM entries WHERE ns=? AND key=?", (ns, key)).fetchone()
        return None if row is None else _decode(row[0])

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        conn = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in conn.execute(
                f"SELECT key, value FROM entries WHERE ns=? AND key IN ({marks})", (ns, *chunk)
            ):
                found[key] = _decode(value)
        return found

    def put(self, ns: str, key: str, value: Any) -> None:
        self.put_many(ns, [(key, value)])

    def put_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> int:
        now = time.time()
        rows = [(ns, k, _encode(v), now) for k, v in items]
        if not rows:
            return 0
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO entries (ns, key, value, created) VALUES (?,?,?,?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows)

    def delete(self, ns: str, key: str) -> None:
        self._conn().execute("DELETE FROM entries WHERE ns=? AND key=?", (ns, key))

    def stats(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        query = "SELECT ns, COUNT(*), SUM(LENGTH(value)), MIN(created), MAX(created) FROM entries GROUP BY ns"
        for ns, count, size, first, last in self._conn().execute(query):
            out[ns] = {"entries": count, "bytes": size or 0, "first": first, "last": last}
        return out

    def iter_entries(self, ns: str | None = None) -> Iterator[tuple[str, str, Any, float]]:
        sql = "SELECT ns, key, value, created FROM entries"
        args: tuple[Any, ...] = ()
        if ns is not None:
            sql += " WHERE ns=?"
            args = (ns,)
        for row_ns, key, value, created in self._conn().execute(sql + " ORDER BY created", args):
            yield row_ns, key, _decode(value), created

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Connections do not cross process boundaries; a worker reopens the same file.
        return {"directory": self.directory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["directory"])  # type: ignore[misc]


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
