"""The run directory: each stage's records as shards with completion markers, the resolved config, stats, resume.

    run_dir/
      config.resolved.yaml      every option, defaults filled in
      <stage>/00000.jsonl       records of shard 0 (one JSON record per line)
      <stage>/00000.rejects.jsonl
      <stage>/00000.done        completion marker: counts, rejects by reason, usage; written last
      rejects/<stage>.jsonl     all rejects of a stage, with reasons
      final/sft.jsonl, final/dpo.jsonl, funnel.json, usage.json
      run.done                  written last: the run finished; absent while it runs and after any failure
      .lock                     who is running it (pid, host, start); a lock of a process that is gone is taken over

A shard's files are written atomically and its marker after them, so a shard either has a marker and complete
files, or it is redone on the next run (its LLM calls and executions then come from the cache). The final files
appear only with `run.done`: a run that fails while writing them leaves its shards and no final files.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codealign.errors import CodealignWarning, ConfigError, FileAccessError
from codealign.records import AtomicWriter, Record, write_jsonl

CONFIG_FILE = "config.resolved.yaml"
DONE_FILE = "run.done"
LOCK_FILE = ".lock"
# What the end of a run writes; removed again when the run fails before `run.done`.
FINAL_FILES = ("final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "report.html")


class RunInUse(ConfigError):
    """Another live process holds the run directory's lock."""


class RunDir:
    """Shard storage for one run; every write is atomic, every finished shard has a marker."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def stage_dir(self, stage: str) -> Path:
        return self.path / stage

    def _shard(self, stage: str, index: int, suffix: str) -> Path:
        return self.stage_dir(stage) / f"{index:05d}{suffix}"

    # -- shards ---------------------------------------------------------------------------------------------

    def is_done(self, stage: str, index: int) -> bool:
        return self._shard(stage, index, ".done").exists()

    def marker(self, stage: str, index: int) -> dict[str, Any]:
        return json.loads(self._shard(stage, index, ".done").read_text(encoding="utf-8"))

    def write_shard(
        self,
        stage: str,
        index: int,
        records: Iterable[Record | dict[str, Any]],
        rejects: Iterable[dict[str, Any]],
        stats: dict[str, Any],
    ) -> None:
        """Write a shard's records and rejects, then its marker (holding `stats`)."""
        write_jsonl(self._shard(stage, index, ".jsonl"), records)
        write_jsonl(self._shard(stage, index, ".rejects.jsonl"), rejects)
        _dump_json(self._shard(stage, index, ".done"), {"shard": index, **stats})

    def shards(self, stage: str) -> list[int]:
        """Indices of the finished shards of a stage, in order."""
        d = self.stage_dir(stage)
        if not d.exists():
            return []
        return sorted(int(p.name.split(".")[0]) for p in d.glob("*.done"))

    def markers(self, stage: str) -> list[dict[str, Any]]:
        return [self.marker(stage, i) for i in self.shards(stage)]

    def iter_rows(self, stage: str, rejects: bool = False) -> Iterator[dict[str, Any]]:
        """The rows of a stage's finished shards (records, or rejects), in shard order, one at a time."""
        suffix = ".rejects.jsonl" if rejects else ".jsonl"
        for i in self.shards(stage):
            with self._shard(stage, i, suffix).open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)

    def iter_records(self, stage: str, kind: str | None = None) -> Iterator[Record]:
        """The records of a stage's finished shards, in order; only those of `kind` when given."""
        for row in self.iter_rows(stage):
            if kind is None or row.get("kind") == kind:
                yield Record.from_dict(row)

    def iter_shard(self, stage: str, index: int) -> Iterator[Record]:
        """The records of one finished shard."""
        with self._shard(stage, index, ".jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield Record.from_dict(json.loads(line))

    def collect_rejects(self, stage: str) -> int:
        """Gather a stage's rejects into `rejects/<stage>.jsonl`; returns how many."""
        return write_jsonl(self.path / "rejects" / f"{stage}.jsonl", self.iter_rows(stage, rejects=True))

    # -- whole-run files ------------------------------------------------------------------------------------

    def write_json(self, name: str, obj: Any) -> None:
        """Atomically write `obj` as indented JSON to `name`, a path inside the run directory."""
        _dump_json(self.path / name, obj)

    def read_json(self, name: str) -> Any:
        p = self.path / name
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def check_and_write_config(self, resolved: dict[str, Any], fixed: dict[str, Any]) -> bool:
        """Store the resolved config; refuse to continue a run whose `fixed` part (what decides its records) changed.

        Returns True when the run directory already held a run (a resume).
        """
        import yaml

        cfg = self.path / CONFIG_FILE
        resuming = cfg.exists()
        if resuming:
            previous = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
            before = previous.get("_fixed", {})
            changed = sorted(k for k in set(before) | set(fixed) if before.get(k) != fixed.get(k))
            if changed:
                raise ConfigError(
                    f"{self.path} holds a run made with different {', '.join(changed)}; "
                    "use a new run_dir (--set run_dir=...) or restore those options"
                )
        self.path.mkdir(parents=True, exist_ok=True)
        with AtomicWriter(cfg) as fh:
            yaml.safe_dump({**resolved, "_fixed": fixed}, fh, sort_keys=False, allow_unicode=True, width=110)
        return resuming


    # -- the run as a whole: who runs it, and whether it finished -------------------------------------------------

    def is_finished(self) -> bool:
        """Whether the run finished: its last file, `run.done`, is there."""
        return (self.path / DONE_FILE).exists()

    def begin(self) -> None:
        """From now on the run is not finished (until `finish`): a rerun that fails never looks finished."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / DONE_FILE).unlink()

    def finish(self, summary: dict[str, Any]) -> None:
        """Write `run.done`, the last file of a run."""
        _dump_json(self.path / DONE_FILE, {"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **summary})

    def discard_final(self) -> None:
        """Remove the final files of a run that failed before `run.done` (its shards stay, for the rerun)."""
        for name in FINAL_FILES:
            with contextlib.suppress(OSError):
                (self.path / name).unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run directory for this process: a second run of it at the same time stops at once, naming the
        holder; the lock of a process that is gone (killed, crashed, its machine rebooted) is taken over."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileAccessError.wrap(exc, self.path, "write") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
              "start": _start_ticks(os.getpid()), "command": " ".join(sys.argv[1:])[:300] or "codealign run"}
        lock = self.path / LOCK_FILE
        with _guard(self.path):
            holder = _read_lock(lock)
            if holder is not None:
                if _alive(holder):
                    where = "" if holder.get("host") == me["host"] else f" on {holder.get('host')}"
                    gone = " (if that run is gone, delete the .lock file in it)" if where else ""
                    raise RunInUse(
                        f"{self.path} is in use by another codealign run: pid {holder.get('pid')}{where}, since "
                        f"{holder.get('since')} ({holder.get('command')}); wait for it or use another run_dir{gone}"
                    )
                import warnings

                warnings.warn(CodealignWarning(
                    f"{self.path}: took over the lock of a run that is gone (pid {holder.get('pid')}, since "
                    f"{holder.get('since')})"), stacklevel=3)  # fmt: skip
            with AtomicWriter(lock) as fh:
                json.dump(me, fh)
                fh.write("\n")
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                if (_read_lock(lock) or {}).get("pid") == me["pid"]:
                    lock.unlink()


@contextlib.contextmanager
def _guard(folder: Path) -> Iterator[None]:
    """Serialise lock checks of processes on this machine (flock on the folder itself)."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": None}  # damaged: nobody can be shown to hold it
    return holder if isinstance(holder, dict) else {"pid": None}


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), so a reused pid is not taken for the lock's holder."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(holder: dict[str, Any]) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    if holder.get("host") != socket.gethostname():
        return True  # another machine's process cannot be checked from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = holder.get("start")
    return started is None or _start_ticks(pid) in (None, started)


def _dump_json(path: Path, obj: Any) -> None:
    with AtomicWriter(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: how changed options are named to the user."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out
