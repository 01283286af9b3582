"""What a person watches while a model trains: a progress bar (step, loss, tokens/s, ETA), train_log.jsonl as it
grows, and one summary table at the end. Only the main process shows or writes any of it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def callbacks(log_path: Path, console: Any, show: bool) -> list[Any]:
    """The TrainerCallbacks of a run: the log writer always, the progress bar when `show`."""
    from transformers import TrainerCallback

    class LogWriter(TrainerCallback):
        """Appends every log line of the Trainer (loss, learning rate, eval loss, ...) to train_log.jsonl."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.t0 = time.time()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if not state.is_world_process_zero or not logs:
                return
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), **logs,
                   "tokens_seen": state.num_input_tokens_seen, "time": round(time.time(), 3),
                   "cpu_s": round(time.process_time(), 3)}  # fmt: skip
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, default=float) + "\n")

    class Bar(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = None
            if not state.is_world_process_zero:
                return
            self.t0, self.seen0 = time.perf_counter(), state.num_input_tokens_seen or 0
            self.progress = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                TextColumn("loss {task.fields[loss]:>7}"), TextColumn("{task.fields[rate]:>9} tok/s"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
            )  # fmt: skip
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, loss="-", rate="-")

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.progress is None:
                return
            spent = max(time.perf_counter() - self.t0, 1e-9)
            rate = ((state.num_input_tokens_seen or 0) - self.seen0) / spent
            self.progress.update(self.task, completed=state.global_step, rate=f"{rate:,.0f}")

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if self.progress is not None and logs and "loss" in logs:
                self.progress.update(self.task, loss=f"{float(logs['loss']):.4f}")

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None

    return [LogWriter(), *([Bar()] if show else [])]


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def losses(rows: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows if key in r and r.get("step") is not None]


def summary_table(summary: dict[str, Any]) -> Any:
    """One table: each source (rows, examples, dropped by reason, eval, train), then the run's figures and outputs."""
    from rich.table import Table

    table = Table(title=f"codealign train ({summary['stage']}): {summary['output_dir']}", show_lines=False)
    table.add_column("")
    table.add_column("rows", justify="right")
    table.add_column("examples", justify="right")
    table.add_column("eval", justify="right")
    table.add_column("train", justify="right")
    table.add_column("dropped, by reason / figures")
    for s in summary["data"]["sources"]:
        dropped = ", ".join(f"{r} {n}" for r, n in s["dropped"].items()) or "-"
        extra = ", ".join(f"{k} {v}" for k, v in sorted(s["extra"].items()))
        weight = "" if s["weight"] == 1 else f", weight {s['weight']:g}"
        name = f"{s['path']} ({s['format']}{weight})"
        table.add_row(name, str(s["rows"]), str(s["examples"]), str(s["eval"]), str(s["train"]),
                      dropped + (f"; {extra}" if extra else ""))  # fmt: skip
    r = summary["results"]
    table.add_section()
    table.add_row("steps", "", "", "", str(r["steps"]), f"{r['epochs']:.2f} epochs, batch {summary['batch']['global']}")
    first, last = r.get("first_loss"), r.get("last_loss")
    if first is not None and last is not None:
        table.add_row("train loss", "", "", "", f"{last:.4f}", f"first {first:.4f}")
    if r.get("eval_loss") is not None:
        table.add_row("eval loss", "", "", "", f"{r['eval_loss']:.4f}", "")
    for key in ("rewards/margins", "rewards/accuracies"):
        if r.get(key) is not None:
            table.add_row(f"dpo {key.split('/')[1]}", "", "", "", f"{r[key]:.4f}", "last logged")
    table.add_row("tokens", "", "", "", f"{r['tokens']:,}", f"{r['tokens_per_second']:,.0f} tokens/s, {r['seconds']:.1f} s"
                  + (f" (resumed at step {r['resumed_from']})" if r.get("resumed_from") else ""))  # fmt: skip
    table.add_row("peak memory", "", "", "", f"{r['peak_memory_mb']:,.0f} MiB", r["memory_kind"])
    return table
