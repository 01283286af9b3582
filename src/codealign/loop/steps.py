"""The steps of a round, each a call into the library of the command that does the job, in this process:
generate (`codealign run`'s `run_pipeline`), train (`codealign train`'s `train`, or that command in a child process
when `train_launcher` is set), evaluate (`codealign evaluate`'s `evaluate_model`).

Generation and evaluation close their backend and sandbox when they end, which hands an in-process model's memory
back; training runs in this process too unless a launcher is configured (several GPUs through `accelerate launch`,
or a process of its own so that everything the trainer held is returned to the system before the next round).
Every step is idempotent: run again on a finished product, it reads it back instead of redoing it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codealign.errors import CodealignError
from codealign.records import AtomicWriter, write_jsonl

OWN_DATA = "own-data"


class LoopError(CodealignError):
    """A step of the loop failed in a way the user can act on."""


@dataclass(frozen=True)
class Model:
    """A model as every backend, server and trainer is given it: a path (or hub id) and the revision in cache keys."""

    path: str
    revision: str | None
    index: int  # r of M_r

    @property
    def name(self) -> str:
        return f"M{self.index}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "revision": self.revision}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(data["path"], data.get("revision"), int(data["name"][1:]))


def trained_revision(model_dir: Path) -> str:
    """A trained model's identity in cache keys: a hash of its training summary, which is written once, last.

    Two trainings of the same folder never share cached answers, and a finished one keeps its identity on reruns.
    """
    from codealign.records import content_hash

    return "trained-" + content_hash((model_dir / "train_summary.json").read_text(encoding="utf-8"), 12)


IN_PROCESS = ("transformers", "hf", "vllm")  # backends whose model lives in this process


def release_memory() -> None:
    """Hand back what a finished step's model held (the CUDA cache included) before the next step loads one."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- generate ------------------------------------------------------------------------------------------------------


def generate(run_config: Any, cache: Any, console: Any, progress: bool) -> dict[str, Any]:
    """Round r's run with M_r (resumed shard by shard when it was interrupted); returns the run's figures."""
    from codealign.loop.figures import run_figures
    from codealign.pipeline import run_pipeline

    run_pipeline(run_config, cache, console, progress=progress)
    if run_config.backend.type in IN_PROCESS:
        release_memory()
    return run_figures(Path(run_config.run_dir))


# -- train ---------------------------------------------------------------------------------------------------------


def train_model(train_config: Any, config_file: Path, launcher: list[str] | None, console: Any) -> dict[str, Any]:
    """Train (or finish training, or read back a finished training) as `train_config` says; returns its figures."""
    import yaml

    from codealign.loop.figures import train_figures

    with AtomicWriter(config_file) as fh:  # the round's exact training config, for the record and for the launcher
        yaml.safe_dump(train_config.model_dump(mode="json"), fh, sort_keys=False, allow_unicode=True, width=110)
    if launcher is None:
        from codealign.train import train

        summary = train(train_config, console)
        release_memory()
    else:
        summary = _launch(train_config, config_file, launcher, console)
    return train_figures(summary)


def _launch(train_config: Any, config_file: Path, launcher: list[str], console: Any) -> dict[str, Any]:
    from codealign.loop.server import _die_with_parent

    argv = [part.replace("{python}", sys.executable) for part in launcher]
    argv += ["-m", "codealign", "train", str(config_file), "--quiet"]
    console.print(f"[cyan]train[/]: {shlex.join(argv)}")
    try:
        code = subprocess.call(argv, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    except OSError as exc:
        raise LoopError(f"cannot start train_launcher {launcher[0]!r}: {exc.strerror or exc}") from None
    if code != 0:
        raise LoopError(f"`{shlex.join(argv)}` exited with status {code}; its messages are above. Rerun the loop "
                        "to continue from the last checkpoint")  # fmt: skip
    summary = Path(train_config.output_dir) / "train_summary.json"
    if not summary.is_file():
        raise LoopError(f"`{shlex.join(argv)}` ended without {summary}")
    return json.loads(summary.read_text(encoding="utf-8"))


# -- evaluate ------------------------------------------------------------------------------------------------------


@dataclass
class BenchmarkSpec:
    """One thing to evaluate on: a benchmark name (`humaneval`, `jsonl:PATH`) or a round's own tasks."""

    name: str
    spec: str
    data: str | None = None
    overlap_with: Path | None = None  # training data to check the benchmark's tasks against

    @property
    def slug(self) -> str:
        text = self.name if not self.name.startswith("jsonl:") else "jsonl-" + Path(self.name[6:]).stem
        return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")

    def benchmark(self) -> Any:
        from codealign.evaluate.base import get_benchmark

        return get_benchmark(self.spec, self.data)


def _paths(out_dir: Path, spec: BenchmarkSpec) -> tuple[Path, Path, Path]:
    return out_dir / f"{spec.slug}.jsonl", out_dir / f"{spec.slug}.summary.json", out_dir / f"{spec.slug}.html"


def _finished(summary_path: Path, settings: Any, model: Model) -> dict[str, Any] | None:
    """The summary of this evaluation, when it was made with these settings for this model; else None."""
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same_model = summary.get("model", {}).get("name") == model.path and summary["model"].get("revision") == model.revision
    return summary if same_model and summary.get("settings") == settings.model_dump(mode="json") else None


def evaluated(model: Model, specs: list[BenchmarkSpec], out_dir: Path, settings: Any) -> bool:
    """True when `model` has a finished evaluation with `settings` on every benchmark of `specs`."""
    return all(_finished(_paths(out_dir, s)[1], settings, model) is not None for s in specs)


def evaluate(
    model: Model, specs: list[BenchmarkSpec], out_dir: Path, settings: Any, backend_config: Any, server: Any,
    cache: Any, workers: int | None, console: Any, progress: bool,
) -> dict[str, Any]:  # fmt: skip
    """`model` on every benchmark of `specs` (those already done with these settings are read back); figures by name.

    Rows, the report page and the summary are written per benchmark, the summary last: a summary on disk means that
    benchmark is finished.
    """
    from codealign.loop.figures import eval_figures

    pending = [s for s in specs if _finished(_paths(out_dir, s)[1], settings, model) is None]
    if pending:
        if server is not None:
            server.serve(model.path)
        _run_evaluations(model, pending, out_dir, settings, backend_config, cache, workers, console, progress)
        if backend_config.type in IN_PROCESS:
            release_memory()
    figures = {}
    for spec in specs:
        rows_path, summary_path, _ = _paths(out_dir, spec)
        summary = _finished(summary_path, settings, model)
        if summary is None:
            raise LoopError(f"the evaluation of {model.name} on {spec.name} left no summary in {out_dir}")
        rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        figures[spec.name] = {**eval_figures(summary, rows), "report": str(_paths(out_dir, spec)[2])}
    return figures


def _run_evaluations(
    model: Model, specs: list[BenchmarkSpec], out_dir: Path, settings: Any, backend_config: Any, cache: Any,
    workers: int | None, console: Any, progress: bool,
) -> None:  # fmt: skip
    from codealign.evaluate.job import evaluate_model
    from codealign.evaluate.report import render
    from codealign.llm import load_backend
    from codealign.sandbox import Sandbox

    benches = [(spec, spec.benchmark()) for spec in specs]
    for _, bench in benches:
        bench.tasks()  # a missing or broken benchmark fails before any model loads
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(Sandbox(workers=workers, cache=cache))
        backend = stack.enter_context(load_backend(backend_config, cache))
        for spec, bench in benches:
            total = len(bench.tasks()[: settings.limit] if settings.limit else bench.tasks()) * settings.n
            with _bar(console, progress, f"{model.name} {spec.name}", total) as tick:
                result = evaluate_model(bench, backend, sandbox, settings, on_executed=tick)
            if spec.overlap_with is not None:
                from codealign.evaluate.overlap import train_overlap

                result.overlap = train_overlap(bench, spec.overlap_with)
            rows_path, summary_path, html_path = _paths(out_dir, spec)
            write_jsonl(rows_path, (s.row() for s in result.samples))
            render(result, html_path)
            failed = result.failed_requests()
            if failed:  # no summary: the benchmark stays unfinished, and the rerun asks only for what failed
                raise LoopError(f"{len(failed)} request(s) of the evaluation of {model.name} on {spec.name} failed "
                                f"(first: {next(iter(failed.values()))}); rerun the loop to ask them again")  # fmt: skip
            with AtomicWriter(summary_path) as fh:
                fh.write(json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def _bar(console: Any, progress: bool, label: str, total: int) -> Any:
    if not progress:
        yield lambda sample: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("passed {task.fields[passed]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=total, passed=0)
        state = {"passed": 0}

        def tick(sample: Any) -> None:
            state["passed"] += sample.passed
            bar.update(task, advance=1, passed=state["passed"])

        yield tick
