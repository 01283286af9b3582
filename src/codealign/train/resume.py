"""Resume: the output folder remembers what it is training, and a rerun continues from its last whole checkpoint.

    output_dir/train_run.json       the fixed part of the config and the data fingerprint (written at the start)
    output_dir/checkpoints/checkpoint-N/   Trainer checkpoints; trainer_state.json is written last in each
    output_dir/train_summary.json   written last of all: the run is finished

A checkpoint killed while being written has no readable trainer_state.json (or one for another step); it is removed
and the one before it is used, so a rerun after `kill -9` ends at the same step count as an uninterrupted run.
A rerun with a different model, data, format or hyperparameter is refused with the names of what changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError
from codealign.records import AtomicWriter

RUN_FILE = "train_run.json"
SUMMARY_FILE = "train_summary.json"
CHECKPOINTS = "checkpoints"
PREFIX = "checkpoint-"


def write_json(path: Path, obj: Any) -> None:
    with AtomicWriter(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _changed(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


def check_config(out: Path, fixed: dict[str, Any]) -> None:
    """Refuse an output folder that holds another run (or anything that is not a training run)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"output_dir {out} is a file")
    state = read_json(out / RUN_FILE)
    if state is None:
        if any(out.iterdir()):
            raise ConfigError(f"output_dir {out} is not empty and holds no codealign training run; choose another")
        return
    changed = _changed(state.get("fixed", {}), fixed)
    if changed:
        raise ConfigError(f"output_dir {out} holds a training run with different {', '.join(changed)}; "
                          "use a new output_dir or restore those options")  # fmt: skip


def check_data(out: Path, fingerprint: str) -> None:
    state = read_json(out / RUN_FILE) or {}
    if state.get("data") not in (None, fingerprint):
        raise ConfigError(f"output_dir {out} holds a training run on different data (the data files changed since); "
                          "use a new output_dir")  # fmt: skip


def start(out: Path, fixed: dict[str, Any], fingerprint: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / RUN_FILE, {"fixed": fixed, "data": fingerprint})


def finished(out: Path) -> dict[str, Any] | None:
    """The summary of a finished run in `out`, or None."""
    return read_json(out / SUMMARY_FILE) if (out / RUN_FILE).is_file() else None


def _step(path: Path) -> int:
    try:
        return int(path.name[len(PREFIX):])
    except ValueError:
        return -1


def is_whole(checkpoint: Path) -> bool:
    state = read_json(checkpoint / "trainer_state.json")
    return isinstance(state, dict) and state.get("global_step") == _step(checkpoint)


def last_checkpoint(out: Path, clean: bool = True) -> Path | None:
    """The newest whole checkpoint; newer partial ones are removed when `clean` (the main process cleans)."""
    folder = out / CHECKPOINTS
    if not folder.is_dir():
        return None
    for path in sorted((p for p in folder.iterdir() if p.is_dir() and p.name.startswith(PREFIX)), key=_step, reverse=True):
        if is_whole(path):
            return path
        if clean:
            shutil.rmtree(path, ignore_errors=True)
    return None


def trim_log(log: Path, step: int) -> None:
    """Keep the lines of train_log.jsonl up to `step`: what came after the checkpoint is logged again."""
    if not log.is_file():
        return
    kept = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut by the kill
        if isinstance(row, dict) and row.get("step", 0) <= step:
            kept.append(line)
    with AtomicWriter(log) as fh:
        fh.write("".join(f"{line}\n" for line in kept))
