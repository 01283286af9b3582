"""What every failure must look like to a user, and what every file left behind must be."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import yaml

NOISE = ("Traceback", "Exception ignored", "Task was destroyed", "Event loop is closed", "RuntimeWarning")
# Figures that belong to the machine or the moment, not to the result.
VOLATILE = {"duration", "cpu_time", "seconds", "cached", "created", "this_invocation", "hits", "latency"}


def assert_clean_failure(res: Any, code: int = 2, contains: str = "") -> str:
    """Exit `code`, exactly one `error:` line (returned), no traceback or asyncio noise anywhere."""
    out = res.stdout + res.stderr
    assert res.returncode == code, f"exit {res.returncode}, expected {code}\n{res.stderr[-3000:]}"
    for noise in NOISE:
        assert noise not in out, f"{noise!r} in the output:\n{out[-3000:]}"
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line, got {errors}\n{res.stderr[-3000:]}"
    assert contains in errors[0], errors[0]
    return errors[0]


def assert_no_noise(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in the output:\n{text[-3000:]}"


def assert_complete(folder: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """Every file under `folder` is whole: JSON and JSONL parse and end with a newline, pages are closed, no
    temporary file is left. Returns the files seen."""
    seen = []
    for path in sorted(folder.rglob("*")):
        assert not (path.is_dir() and path.name.startswith("codealign-")), f"scratch folder left behind: {path}"
        if not path.is_file() or any(part in skip for part in path.relative_to(folder).parts):
            continue
        seen.append(path)
        name = path.name
        assert not (name.startswith(".") and name.endswith(".tmp")), f"temporary file left behind: {path}"
        if ".damaged-" in name or name.startswith("cache.sqlite3"):
            continue
        if not name.endswith((".jsonl", ".partial", ".json", ".done", ".html", ".csv", ".yaml", ".yml")):
            continue
        text = path.read_bytes().decode("utf-8")
        if name.endswith((".jsonl", ".jsonl.partial")):
            assert text == "" or text.endswith("\n"), f"{path} ends mid-line"
            for n, line in enumerate(text.splitlines(), 1):
                json.loads(line), f"{path}:{n}"
        elif name.endswith((".json", ".done")):
            assert text.endswith("\n"), f"{path} ends mid-line"
            json.loads(text)
        elif name.endswith(".html"):
            assert text.rstrip().endswith("</html>"), f"{path} is cut short"
        elif name.endswith(".csv"):
            assert text.endswith("\n"), f"{path} ends mid-line"
            list(csv.reader(io.StringIO(text)))
        elif name.endswith((".yaml", ".yml")):
            yaml.safe_load(text)
    return seen


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def result(path: Path, folder: Path) -> Any:
    """A file's content without timings, cache flags and the output folder's own path; JSONL rows in a stable
    order (some are written as they finish)."""
    text = path.read_text(encoding="utf-8").replace(json.dumps(str(folder))[1:-1], "OUT")
    if path.name.endswith(".jsonl"):
        rows = [_strip(json.loads(line)) for line in text.splitlines()]
        return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    if path.name.endswith(".json"):
        return _strip(json.loads(text))
    return text


def results(folder: Path, names: list[str]) -> dict[str, Any]:
    return {name: result(folder / name, folder) for name in names}


def fill(folder: Path, leave: int) -> None:
    """Fill the filesystem holding `folder` until about `leave` bytes are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with (folder / ".filler").open("wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, free - leave))
    os.sync()
