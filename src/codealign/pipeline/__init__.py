"""The `codealign run` job: RunConfig in, a run directory with SFT and DPO files, a funnel, usage, the QDC
measurement of the final data (`measure/`) and the run's page (`report.html`) out.

    from codealign.pipeline import RunConfig, run_pipeline
    funnel = run_pipeline(load_config(RunConfig, "examples/demo.yaml"), cache)

An experiment (every method on the same seeds and model, compared) is `codealign.pipeline.experiment`.
"""

from __future__ import annotations

import time
from typing import Any

from codealign.errors import BackendError
from codealign.pipeline.config import ExecutionConfig, RunConfig, SeedsConfig
from codealign.synth.base import TEACHER

__all__ = ["ExecutionConfig", "RunConfig", "SeedsConfig", "run_pipeline"]


def run_pipeline(config: RunConfig, cache: Any, console: Any = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) every stage of `config`; returns the funnel. Shows rich progress on `console` when asked."""
    from codealign.pipeline.runner import Runner
    from codealign.pipeline.seeds import seed_files
    from codealign.runs import CONFIG_FILE, RunDir

    rd = RunDir(config.run_dir)
    seed_files(config.seeds.path)  # a missing seeds file fails before any model is loaded
    runner = Runner(config, cache, None)
    if not (rd.path / CONFIG_FILE).exists():
        # A new run loads its model (or checks its server) before the run directory is made: a model that cannot be
        # loaded leaves nothing behind. A resumed run loads it when a shard needs it.
        try:
            runner.preload()
        except BaseException:
            runner.close()
            raise
    with rd.lock():
        rd.begin()
        try:
            return _run(rd, config, cache, runner, console, progress)
        finally:
            runner.close()


def _run(rd: Any, config: RunConfig, cache: Any, runner: Any, console: Any, progress: bool) -> dict[str, Any]:
    from codealign.pipeline.finalize import finalize
    from codealign.pipeline.measure import measure_run
    from codealign.pipeline.progress import make_progress
    from codealign.runs import flatten

    rd.check_and_write_config(config.model_dump(mode="json"), flatten(config.fixed()))
    started = time.perf_counter()
    bars = make_progress(console) if progress else None
    runner.progress = bars
    try:
        if bars is not None:
            with bars:
                plan = runner.run_stages()
        else:
            plan = runner.run_stages()
    except BackendError as exc:
        if config.backend.type in ("transformers", "hf", "vllm") and str(exc).startswith("cannot load model"):
            raise BackendError(
                f"{exc} Give a local model folder (--set backend.model=/path/to/model) or a server "
                "(--set backend.type=openai --set backend.base_url=http://HOST:PORT/v1)"
            ) from None
        raise
    # The final files appear only with run.done, written last: a failure from here on removes them again.
    try:
        funnel = finalize(rd, config, plan, runner.stats)
        measured = time.perf_counter()
        measure_run(rd.path, config, cache)
        measure_seconds = time.perf_counter() - measured
        this_invocation: dict[str, Any] = {"backend": runner.backend_usage()}
        if config.teacher is not None and TEACHER in runner.method.roles:
            this_invocation["teacher"] = runner.backend_usage(TEACHER)
        this_invocation["executor"] = runner.executor_usage()
        this_invocation["executions"] = runner.execution_usage()
        this_invocation["seconds"] = round(time.perf_counter() - started, 3)
        this_invocation["measure_seconds"] = round(measure_seconds, 3)
        this_invocation["resumed_shards"] = {name: s.resumed_shards for name, s in runner.stats.items()}
        usage: dict[str, Any] = {"stages": runner.usage, "this_invocation": this_invocation}
        from codealign.export.report import write_report
        from codealign.export.rundata import RunView

        # Both from the files just written, as `codealign report RUN_DIR` rebuilds them.
        sandbox = RunView(rd.path, finishing=True).sandbox_usage()
        if sandbox is not None:
            usage["sandbox"] = sandbox
        rd.write_json("usage.json", usage)
        write_report(rd.path, finishing=True)
        rd.finish({"final": funnel.get("final", {})})
    except BaseException:
        rd.discard_final()
        raise
    return funnel
