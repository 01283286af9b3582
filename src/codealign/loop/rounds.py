"""The loop driver: the base model's evaluation, then rounds of generate -> (before) -> sft -> (dpo) -> evaluate.

    LOOP_DIR/
      config.resolved.yaml      the loop config; a rerun that changes what decides data or models is refused
      base/eval/                M_0 on the benchmarks; base/base.json its figures
      round-R/run/              the round's `codealign run` (M_R generates)
      round-R/eval-before/      M_R on the round's own tasks (evaluate.own_data)
      round-R/sft/, dpo/        M_{R+1}: the trained model folders (LoRA merged), with sft.yaml / dpo.yaml
      round-R/eval/             M_{R+1} on the benchmarks (and the round's own tasks)
      round-R/round.json        the round's figures, step by step; `finished` is set last
      summary.json, report.html the figures of every round, the table and the plots
      server.json, server.log   the server the loop runs, when it runs one

A step counts as done when round.json records it and its product is whole (the run's final files, the model's
training summary, each benchmark's summary); a rerun starts at the first step that is not, and every step it runs
again reuses the cache (LLM answers, executions) and the trainer's checkpoints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codealign.loop.config import LoopConfig
from codealign.loop.server import ModelServer
from codealign.loop.steps import OWN_DATA, BenchmarkSpec, LoopError, Model, trained_revision
from codealign.records import AtomicWriter

STATE = "round.json"
BASE_STATE = "base.json"


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj: Any) -> None:
    """Atomically, and only when the content changes: a rerun that finds a round finished leaves its files alone."""
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicWriter(path) as fh:
        fh.write(text)


def run_finished(run_dir: Path) -> bool:
    """A run whose final files, funnel and usage are written (usage.json comes after the final files)."""
    return all((run_dir / name).is_file() for name in ("final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "usage.json"))


class Loop:
    """One invocation of `codealign loop`: runs what is not done yet, then writes the summary and the report."""

    def __init__(self, config: LoopConfig, cache: Any, console: Any = None, progress: bool = True) -> None:
        from rich.console import Console

        self.config = config
        self.cache = cache
        self.console = console or Console(stderr=True)
        self.progress = progress
        self.dir = Path(config.loop_dir)
        say = self.console.print
        self.run_server = None
        if config.server is not None:
            url = config.run["backend"]["base_url"]
            self.run_server = ModelServer(config.server, url, self.dir / "server.json", self.dir / "server.log", say)
        if config.evaluate.server is not None:
            url = (config.evaluate.backend or {})["base_url"]
            self.eval_server = ModelServer(config.evaluate.server, url, self.dir / "eval-server.json",
                                           self.dir / "eval-server.log", say)  # fmt: skip
        else:
            self.eval_server = self.run_server if config.evaluate.backend is None else None

    def servers(self) -> list[ModelServer]:
        return [s for s in dict.fromkeys((self.run_server, self.eval_server)) if s is not None]

    def close(self) -> None:
        for server in self.servers():
            server.stop()

    # -- the whole loop ------------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from codealign.loop.report import write_outputs
        from codealign.runs import RunDir, flatten

        cfg = self.config
        resumed = RunDir(self.dir).check_and_write_config(cfg.model_dump(mode="json"), flatten(cfg.fixed()))
        if resumed:
            self.console.print(f"[cyan]resuming[/] the loop in {self.dir}: finished steps are skipped")
        base = Model(cfg.base_model_path(), cfg.run["backend"].get("revision"), 0)
        base_state = self.base(base) if cfg.evaluate.base and cfg.evaluate.benchmarks else None
        states: list[dict[str, Any]] = []
        model = base
        for r in range(cfg.rounds):
            state = self.round(r, model, base)
            states.append(state)
            if state.get("stopped"):
                break
            model = Model.from_dict(state["model_out"])
        self.close()
        return write_outputs(self.config, base_state, states)

    # -- steps ---------------------------------------------------------------------------------------------------

    def _step(self, r: int, state: dict[str, Any], path: Path, name: str, done: Callable[[], bool],
              work: Callable[[], dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
        recorded = state["steps"].get(name)
        if recorded is not None and done():
            self.console.print(f"[dim]round {r}: {name} finished earlier[/]")
            return recorded
        self.console.print(f"[bold]round {r}[/]: {name}")
        began = time.perf_counter()
        figures = work()
        state["steps"][name] = figures
        state.setdefault("seconds", {})[name] = round(time.perf_counter() - began, 2)
        write_json(path, state)
        return figures

    def base(self, base: Model) -> dict[str, Any]:
        """M_0 on the benchmarks: the first point of every curve."""
        path = self.dir / "base" / BASE_STATE
        from codealign.loop import steps

        settings = self.config.evaluate.settings(self.config.evaluate.base_mode)
        specs, out = self.benchmarks(None), self.dir / "base" / "eval"
        state = read_json(path)
        if state is not None and state.get("model") == base.as_dict() and steps.evaluated(base, specs, out, settings):
            self.console.print("[dim]base model: evaluate finished earlier[/]")
            return state
        self.console.print(f"[bold]base model[/] {base.name} ({base.path}): evaluate")
        state = {"model": base.as_dict(), "evaluate": self.evaluate(base, specs, out, settings)}
        write_json(path, state)
        return state

    def round(self, r: int, model: Model, base: Model) -> dict[str, Any]:
        from codealign.loop import steps

        cfg = self.config
        rdir = cfg.round_dir(r)
        path = rdir / STATE
        state = read_json(path)
        if state is not None and state.get("model_in") != model.as_dict():
            raise LoopError(f"{rdir} was made by {state.get('model_in', {}).get('path')} (revision "
                            f"{state.get('model_in', {}).get('revision')}), not by {model.path} (revision "
                            f"{model.revision}); move {rdir} away to run the round again")  # fmt: skip
        if state is None:
            state = {"round": r, "model_in": model.as_dict(), "steps": {}, "stopped": None, "finished": False}
        if state.get("finished") and state.get("stopped"):
            self.console.print(f"[yellow]round {r}[/]: {state['stopped']}")
            return state

        run_config = cfg.run_config(r, model.path, model.revision)
        run_dir = Path(run_config.run_dir)

        def generate() -> dict[str, Any]:
            if self.run_server is not None:
                self.run_server.serve(model.path)
            return steps.generate(run_config, self.cache, self.console, self.progress)

        self.console.print(f"[bold]round {r}[/] of {cfg.rounds}: {model.name} ({model.path}) generates")
        made = self._step(r, state, path, "generate", lambda: run_finished(run_dir), generate)
        if made["sft"] == 0:
            state["stopped"] = (f"round {r} kept no data (0 SFT examples; the run lost everything at "
                                f"{made.get('lost_at') or 'an unknown step'}): the loop stops after {r} trained "
                                f"round(s), and {model.name} ({model.path}) is its last model; see "
                                f"{run_dir / 'report.html'}")  # fmt: skip
            state["finished"] = True
            write_json(path, state)
            self.console.print(f"[bold yellow]stopped[/]: {state['stopped']}")
            return state

        own = BenchmarkSpec(OWN_DATA, f"jsonl:{run_dir / 'final' / 'sft.jsonl'}")
        if cfg.evaluate.own_data:
            settings = cfg.evaluate.settings(cfg.evaluate.base_mode if model.index == 0 else None)
            out = rdir / "eval-before"
            self._step(r, state, path, "before", lambda: steps.evaluated(model, [own], out, settings),
                       lambda: self.evaluate(model, [own], out, settings))  # fmt: skip

        start = base if cfg.train_from == "base" else model
        runs = [cfg.round_dir(k) / "run" for k in range(r + 1)] if cfg.train_data == "all" else [run_dir]
        sft_dir = rdir / "sft"
        kept = [str(p) for p in runs if _final_count(p, "sft") > 0]
        sft_config = cfg.train_config("sft", start.path, str(sft_dir), kept)
        self._step(r, state, path, "sft", lambda: (sft_dir / "train_summary.json").is_file(),
                   lambda: self.train(sft_config, rdir / "sft.yaml"))  # fmt: skip
        out_model = Model(str(sft_dir), trained_revision(sft_dir), r + 1)
        if cfg.dpo is not None:
            pairs = [str(p) for p in runs if _final_count(p, "dpo") > 0]
            dpo_dir = rdir / "dpo"
            if pairs:
                dpo_config = cfg.train_config("dpo", out_model.path, str(dpo_dir), pairs)
                self._step(r, state, path, "dpo", lambda: (dpo_dir / "train_summary.json").is_file(),
                           lambda: self.train(dpo_config, rdir / "dpo.yaml"))  # fmt: skip
                out_model = Model(str(dpo_dir), trained_revision(dpo_dir), r + 1)
            else:
                state["steps"]["dpo"] = {"skipped": "the round's data has no preference pairs"}
                self.console.print(f"[yellow]round {r}[/]: no DPO: the round's data has no preference pairs")
        state["model_out"] = out_model.as_dict()
        write_json(path, state)

        specs = self.benchmarks(run_dir) + ([own] if cfg.evaluate.own_data else [])
        if specs:
            settings = cfg.evaluate.settings()
            out = rdir / "eval"
            self._step(r, state, path, "evaluate", lambda: steps.evaluated(out_model, specs, out, settings),
                       lambda: self.evaluate(out_model, specs, out, settings))  # fmt: skip
        state["finished"] = True
        write_json(path, state)
        return state

    # -- helpers -------------------------------------------------------------------------------------------------

    def benchmarks(self, run_dir: Path | None) -> list[BenchmarkSpec]:
        ev = self.config.evaluate
        overlap = run_dir / "final" / "sft.jsonl" if run_dir is not None else None
        return [BenchmarkSpec(b, b, ev.data.get(b), overlap) for b in ev.benchmarks]

    def evaluate(self, model: Model, specs: list[BenchmarkSpec], out: Path, settings: Any) -> dict[str, Any]:
        from codealign.loop import steps

        backend = self.config.eval_backend(model.path, model.revision)
        return steps.evaluate(model, specs, out, settings, backend, self.eval_server, self.cache,
                              self.config.evaluate.workers, self.console, self.progress)  # fmt: skip

    def train(self, train_config: Any, config_file: Path) -> dict[str, Any]:
        from codealign.loop import steps

        for server in self.servers():
            if server.config.stop_for_training:
                server.stop()
        if not self.progress:
            train_config.progress = False
        return steps.train_model(train_config, config_file, self.config.train_launcher, self.console)


def _final_count(run_dir: Path, name: str) -> int:
    funnel = read_json(run_dir / "funnel.json") or {}
    return int((funnel.get("final") or {}).get(name, 0))


def run_loop(config: LoopConfig, cache: Any, console: Any = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the loop of `config`; returns the summary (also LOOP_DIR/summary.json)."""
    loop = Loop(config, cache, console, progress)
    try:
        return loop.run()
    finally:
        loop.close()
