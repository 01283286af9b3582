"""The funnel (records in/out per step, rejections by reason with examples), the rejects file, and the summary table."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.errors import FileAccessError
from codealign.records import AtomicWriter


@dataclass
class Step:
    name: str
    seen: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    changed: Counter[str] = field(default_factory=Counter)  # kept but modified (PII spans replaced), by kind


class Funnel:
    """Counts per step; every rejection goes to the rejects file with its full reason."""

    def __init__(self, rejects_path: Path | None = None, examples: int = 3) -> None:
        self.steps: dict[str, Step] = {}
        self.extra: dict[str, Any] = {}
        self._examples = examples
        self._writer = AtomicWriter(rejects_path) if rejects_path else None
        self._fh = self._writer.__enter__() if self._writer else None
        self.rejects_path = rejects_path

    def step(self, name: str) -> Step:
        if name not in self.steps:
            self.steps[name] = Step(name)
        return self.steps[name]

    def keep(self, step: str, n: int = 1) -> None:
        s = self.step(step)
        s.seen += n
        s.kept += n

    def reject(self, step: str, reason: str, row: dict[str, Any] | None = None) -> None:
        """Count a rejection under its short reason (the text before the first ':') and write it out in full."""
        s = self.step(step)
        s.seen += 1
        key = reason.split(":", 1)[0].strip()
        s.rejected[key] += 1
        shown = s.examples.setdefault(key, [])
        where = _where(row)
        if len(shown) < self._examples:
            shown.append(f"{where}: {reason}" if where else reason)
        if self._fh is not None:
            line = json.dumps({"step": step, "reason": reason, **(row or {})}, ensure_ascii=False, default=str)
            try:
                self._fh.write(line + "\n")
            except OSError as exc:
                raise FileAccessError.wrap(exc, self.rejects_path, "write") from None

    def close(self, ok: bool = True) -> None:
        if self._writer is not None:
            if ok:
                self._writer.__exit__(None, None, None)
            else:
                self._writer.__exit__(RuntimeError, RuntimeError("aborted"), None)
            self._writer = None
            self._fh = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [
                {"step": s.name, "in": s.seen, "out": s.kept, "rejected": dict(s.rejected.most_common()),
                 "examples": s.examples} | ({"changed": dict(s.changed)} if s.changed else {})  # fmt: skip
                for s in self.steps.values()
            ],
            **self.extra,
        }

    def write_json(self, path: Path) -> None:
        with AtomicWriter(path) as fh:
            json.dump(self.to_dict(), fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")

    def print_summary(self, title: str, seconds: float) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{title} ({seconds:.1f} s)", title_justify="left")
        table.add_column("step")
        table.add_column("in", justify="right")
        table.add_column("out", justify="right")
        table.add_column("rejected, by reason")
        for s in self.steps.values():
            reasons = ", ".join(f"{k} {v}" for k, v in s.rejected.most_common(6))
            if len(s.rejected) > 6:
                reasons += f", +{len(s.rejected) - 6} more"
            if s.changed:
                reasons = (reasons + "; " if reasons else "") + "replaced " + ", ".join(
                    f"{k} {v}" for k, v in s.changed.most_common()
                )
            table.add_row(s.name, f"{s.seen:,}", f"{s.kept:,}", reasons or "-")
        Console(stderr=True).print(table)


def _where(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    prov = row.get("provenance") or {}
    path = prov.get("path") or row.get("path")
    lines = prov.get("lines")
    if path and lines:
        return f"{path}:{lines[0]}"
    line = row.get("line") or row.get("row")
    if path and line:
        return f"{path}:{line}"
    return str(path or line or "")


def side_path(output: Path, suffix: str) -> Path:
    """`seeds.jsonl` -> `seeds.<suffix>` next to it (e.g. seeds.funnel.json, seeds.rejects.jsonl)."""
    name = output.name
    for ext in (".jsonl", ".parquet", ".json"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return output.with_name(f"{name}.{suffix}")


def progress_bar(transient: bool = False) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        transient=transient,
        console=Console(stderr=True),
    )
