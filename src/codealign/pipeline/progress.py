"""Rich progress per stage (items, rate, cache hits) and the end-of-run summary table."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageStats:
    """Counts of one stage over the whole run (finished shards from earlier runs included)."""

    name: str
    items_in: int = 0
    items_out: int = 0
    rejected: Counter = field(default_factory=Counter)
    cache_hits: int = 0
    resumed_shards: int = 0
    seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)  # records per kind, for a stage that makes several kinds
    rounds: list[dict[str, Any]] = field(default_factory=list)  # in, out, rejected per round of a multi-round stage

    def add_marker(self, marker: dict[str, Any]) -> None:
        self.items_in += marker.get("in", 0)
        self.items_out += marker.get("out", 0)
        self.rejected.update(marker.get("rejected", {}))
        self.kinds.update(marker.get("kinds", {}))
        for i, counts in enumerate(marker.get("rounds", [])):
            if i == len(self.rounds):
                self.rounds.append({"round": i + 1, "in": 0, "out": 0, "rejected": Counter()})
            self.rounds[i]["in"] += counts.get("in", 0)
            self.rounds[i]["out"] += counts.get("out", 0)
            self.rounds[i]["rejected"].update(counts.get("rejected", {}))

    def as_dict(self) -> dict[str, Any]:
        """The stage's entry in funnel.json: `in`, `out`, `rejected` by reason; `kinds` and `rounds` when it has them."""
        out: dict[str, Any] = {"in": self.items_in, "out": self.items_out, "rejected": dict(sorted(self.rejected.items()))}
        if self.kinds:
            out["kinds"] = dict(self.kinds)
        if self.rounds:
            out["rounds"] = [{**r, "rejected": dict(sorted(r["rejected"].items()))} for r in self.rounds]
        return out


class StageProgress:
    """A progress bar for one stage; a no-op when progress is off."""

    def __init__(self, progress: Any, name: str, total: int | None) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        self.done = 0
        self.hits = 0
        self.task = None
        if progress is not None:
            self.task = progress.add_task(name, total=total, hits=0, rate="")

    def advance(self, items: int, hits: int = 0) -> None:
        self.done += items
        self.hits += hits
        if self.progress is None:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = f"{self.done / elapsed:,.1f}/s"
        self.progress.update(self.task, advance=items, hits=self.hits, rate=rate)

    def finish(self) -> None:
        if self.progress is not None:
            task = self.progress.tasks[self.task]
            if task.total is None:
                self.progress.update(self.task, total=task.completed)


def make_progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10}"),
        TextColumn("cached {task.fields[hits]}"),
        TimeElapsedColumn(),
        console=console,
    )


def summary_table(funnel: dict[str, Any], run_dir: str) -> Any:
    """One table: every stage's in, out, rejected by reason."""
    from rich.table import Table

    table = Table(title=f"codealign run: {run_dir}", show_lines=False)
    table.add_column("stage")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    table.add_column("removed, by reason")
    for name, stage in funnel["stages"].items():
        reasons = stage.get("rejected", {})
        text = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]))
        table.add_row(name, str(stage.get("in", "")), str(stage.get("out", "")), text or "-")
    for name, step in funnel.get("selection", {}).items():
        reasons = step.get("by_reason", {})
        text = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]))
        table.add_row(f"select: {name}", str(step.get("in", "")), str(step.get("out", "")), text or "-")
    final = funnel.get("final", {})
    table.add_row("final", "", f"{final.get('sft', 0)} sft / {final.get('dpo', 0)} dpo", "")
    return table


def nothing_kept(funnel: dict[str, Any]) -> str | None:
    """For a run that kept no example: which stage or selection filter lost everything, and its main reasons."""
    final = funnel.get("final", {})
    if final.get("sft", 0) or final.get("dpo", 0):
        return None
    steps = [(name, s.get("in", 0), s.get("out", 0), s.get("rejected", {})) for name, s in funnel["stages"].items()]
    steps += [(f"selection filter {name}", s.get("in", 0), s.get("out", 0), s.get("by_reason", {}))
              for name, s in funnel.get("selection", {}).items()]  # fmt: skip
    for name, n_in, n_out, reasons in steps:
        if n_in == 0:
            return f"the run kept nothing (0 SFT, 0 DPO): {name} got no input"
        if n_out == 0:
            top = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
            why = ", ".join(f"{reason} ({count:,})" for reason, count in top) or "no reason recorded"
            return f"the run kept nothing (0 SFT, 0 DPO): {name} removed all {n_in:,} of its input; top reasons: {why}"
    return "the run kept nothing (0 SFT, 0 DPO)"
