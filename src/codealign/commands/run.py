"""`codealign run CONFIG.yaml`: the whole pipeline, from seeds to SFT and DPO files, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import typer

RUN_HELP = """Run the pipeline of CONFIG: seeds -> the method's stages -> sandboxed execution -> selection -> QDC.

The minimal config names run_dir, seeds.path, method (selfcodealign, oss-instruct, evol-instruct, self-instruct,
distill) and a backend block (type, model, base_url, mode); every other option has the paper's default (see
examples/selfcodealign.yaml, annotated, and examples/<method>.yaml). The run directory ends up with
final/sft.jsonl, final/dpo.jsonl, funnel.json, usage.json, config.resolved.yaml, rejects/, measure/ (the QDC
report of the final data), report.html and one folder of shards per stage.

A config with a `methods:` block instead of `method:` is an experiment: every method runs on the same seeds and
model into run_dir/<label>/, and run_dir/compare/ gets one side-by-side QDC report with each method's funnel
(see examples/compare-methods.yaml).

Re-running the same command after a crash or Ctrl-C continues where it stopped: finished shards are skipped, and
every LLM answer and execution comes from the cache, so nothing is asked or run twice and nothing is lost.

Override any option with --set, e.g. --set backend.base_url=http://127.0.0.1:8000/v1
--set method_options.response_samples=4 --set execution.timeout=5 --set faithful=true.
"""


def register(app: typer.Typer) -> None:
    @app.command("run", help=RUN_HELP)
    def run_command(
        config: Path = typer.Argument(..., help="YAML run config (see examples/)."),
        overrides: list[str] = typer.Option(
            [], "--set", help="Override one option: key.sub=value (the value is parsed as YAML). Repeatable."
        ),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Ask and execute everything; store nothing (no resume)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars; only the summary."),
        retry_timeouts: bool = typer.Option(
            False, "--retry-timeouts", help="Run programs whose cached outcome is a timeout again, finished shards "
            "included (same as --set execution.retry_timeouts=true)."
        ),
    ) -> None:
        from rich.console import Console

        from codealign.cache import open_cache
        from codealign.config import apply_overrides, load_config, load_yaml
        from codealign.pipeline import RunConfig, run_pipeline
        from codealign.pipeline.experiment import ExperimentConfig, is_experiment, run_experiment
        from codealign.pipeline.progress import nothing_kept, summary_table

        overrides = [*overrides, *(["execution.retry_timeouts=true"] if retry_timeouts else [])]
        if is_experiment(apply_overrides(load_yaml(config), list(overrides))):
            experiment = load_config(ExperimentConfig, config, overrides)
            console = Console(stderr=True)
            cache = open_cache(cache_dir, enabled=not no_cache)
            try:
                summary = run_experiment(experiment, cache, console, progress=not quiet)
            except KeyboardInterrupt:
                from codealign.errors import Interrupted

                raise Interrupted(
                    f"finished work is saved; rerun the same command to continue ({experiment.run_dir})"
                ) from None
            finally:
                cache.close()
            from codealign.pipeline.experiment import summary_table as methods_table

            Console().print(methods_table(summary))
            compare = Path(experiment.run_dir) / "compare"
            typer.echo(f"comparison: {compare / 'compare.html'}  figures: {compare / 'summary.json'}")
            return
        cfg = load_config(RunConfig, config, overrides)
        console = Console(stderr=True)
        cache = open_cache(cache_dir, enabled=not no_cache)
        try:
            funnel = run_pipeline(cfg, cache, console, progress=not quiet)
        except KeyboardInterrupt:
            from codealign.errors import Interrupted

            raise Interrupted(f"finished work is saved; rerun the same command to continue ({cfg.run_dir})") from None
        finally:
            cache.close()
        Console().print(summary_table(funnel, cfg.run_dir))
        out = Path(cfg.run_dir)
        usage = json.loads((out / "usage.json").read_text(encoding="utf-8"))
        resumed = sum(usage["this_invocation"]["resumed_shards"].values())
        if resumed:
            typer.echo(f"resumed: {resumed} finished shards were skipped")
        executions = usage["this_invocation"].get("executions") or {}
        if executions:
            again = executions.get("timeouts_run_again", 0)
            typer.echo(f"executions: {executions['run']:,} run, {executions['from_cache']:,} from the cache"
                       + (f" ({again:,} cached timeouts run again)" if again else ""))
        empty = nothing_kept(funnel)
        if empty:
            console.print(f"[bold yellow]warning:[/] {empty}", highlight=False, soft_wrap=True)
        typer.echo(f"SFT: {out / 'final' / 'sft.jsonl'}  DPO: {out / 'final' / 'dpo.jsonl'}  funnel: {out / 'funnel.json'}")
        typer.echo(f"report: {out / 'report.html'}")
        if (out / "measure" / "metrics.json").exists():
            typer.echo(f"QDC: {out / 'measure' / 'report.html'}")
        typer.echo(f"finished: {out / 'run.done'}")
