"""JSONL read once by byte offset: each line's place in its file, so rows can be copied or re-read without parsing.

`scan_lines(path, start, end)` yields the lines that start in the byte range [start, end) with their offsets, so a
file can be split into ranges that separate processes (or cluster tasks) read independently, each line read by
exactly one of them. Memory per line is bounded: a line longer than `max_line_bytes` is skipped as it is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 16 << 20  # one JSONL record; a longer line is reported and skipped, never held in memory
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


@dataclass(slots=True)
class Line:
    """One line of a file: `raw` is its bytes without the line end (None when it was too long to hold)."""

    lineno: int  # 1-based within the range; `scan_lines` callers add the lines before the range
    offset: int  # where the record's bytes start (after a leading BOM)
    end: int  # offset just past the line end
    raw: bytes | None


def scan_lines(path: str | os.PathLike, start: int = 0, end: int | None = None,
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:  # fmt: skip
    """Every line (blank ones included) that starts in [start, end); a range that starts mid-line skips to the next."""
    with open(path, "rb") as fh:
        pos = start
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":  # inside a line: it belongs to the range before
                pos = start + _skip_line(fh)
        else:
            fh.seek(0)
        lineno = 0
        while end is None or pos < end:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                return
            lineno += 1
            offset = pos
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                pos += len(raw) + _skip_line(fh)
                yield Line(lineno, offset, pos, None)
                continue
            pos += len(raw)
            if offset == 0 and raw.startswith(_BOM):
                raw, offset = raw[3:], 3
            yield Line(lineno, offset, pos, raw.rstrip(b"\r\n"))


def _skip_line(fh: Any) -> int:
    """Read to the end of the current line without holding it; returns the bytes skipped."""
    size = 0
    while chunk := fh.readline(_CHUNK):
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return size


def parse_line(raw: bytes) -> tuple[Any, str | None, bool]:
    """(object, error, utf8_ok): the JSON object of a line, or None and why not."""
    try:
        text = raw.decode("utf-8")
        ok = True
    except UnicodeDecodeError:
        text, ok = raw.decode("utf-8", "replace"), False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})", ok
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}", ok
    return obj, None, ok


def too_long(size: int, max_line_bytes: int = MAX_LINE_BYTES) -> str:
    return f"line of {size / 1e6:.1f} MB is over the {max_line_bytes / 2**20:g} MiB limit per record"


def read_span(fh: Any, offset: int, end: int) -> bytes:
    """The bytes of a line (without its line end) from an open binary file."""
    fh.seek(offset)
    return fh.read(end - offset).rstrip(b"\r\n")


def copy_spans(src: Any, dst: Any, spans: Iterator[tuple[int, int]]) -> None:
    """Copy byte ranges of `src` to `dst`, merging adjacent ones, each ending in exactly one newline."""
    run_start = run_end = -1
    for start, end in spans:
        if start == run_end:
            run_end = end
            continue
        if run_end > run_start:
            _copy(src, dst, run_start, run_end)
        run_start, run_end = start, end
    if run_end > run_start:
        _copy(src, dst, run_start, run_end)


def _copy(src: Any, dst: Any, start: int, end: int) -> None:
    src.seek(start)
    last = b""
    remaining = end - start
    while remaining > 0:
        chunk = src.read(min(remaining, 4 * _CHUNK))
        if not chunk:
            break
        dst.write(chunk)
        remaining -= len(chunk)
        last = chunk[-1:]
    if last != b"\n":  # the file's last line had no line end
        dst.write(b"\n")


def jsonl_files(path: str | os.PathLike) -> list[Path] | None:
    """The JSONL files of an input (a file or a folder of them); None when it holds Parquet."""
    p = Path(path)
    files = sorted([*p.glob("*.jsonl"), *p.glob("*.parquet")]) if p.is_dir() else [p]
    return None if any(f.suffix == ".parquet" for f in files) else files
