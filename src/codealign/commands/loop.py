"""`codealign loop CONFIG.yaml`: rounds of generate -> train -> evaluate, each round's model generating the next data."""

from __future__ import annotations

from pathlib import Path

import typer

LOOP_HELP = """Self-alignment in rounds: each round's model generates data, the next is trained on it and evaluated.

Round r: M_r generates data (codealign run), M_r+1 is trained on it (codealign train: SFT, then DPO when the config
has a dpo block; LoRA merged) and evaluated (codealign evaluate), then generates the next round's data.

CONFIG holds loop_dir, rounds, a run block (a codealign run config without run_dir), a train block (a codealign
train config without model, output_dir and data), optionally dpo, evaluate (benchmarks, mode, n, ...) and server
(a command that serves each round's model: vLLM, transformers serve); see examples/loop.yaml, annotated.

LOOP_DIR gets one folder per round (run/, sft/, dpo/, eval/, round.json), summary.json and report.html. Re-running
the same command after a crash or Ctrl-C continues at the first unfinished step; every LLM answer and execution
comes from the cache and training resumes from its last checkpoint. A round that keeps no data ends the loop.

Override any option with --set, e.g. --set rounds=3 --set train.epochs=2 --set evaluate.n=10.
"""


def register(app: typer.Typer) -> None:
    @app.command("loop", help=LOOP_HELP)
    def loop_command(
        config: Path = typer.Argument(..., help="YAML loop config (see examples/loop.yaml)."),
        overrides: list[str] = typer.Option(
            [], "--set", help="Override one option: key.sub=value (the value is parsed as YAML). Repeatable."
        ),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Ask and execute everything; store nothing (no resume)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars; the steps and the summary only."),
    ) -> None:
        from rich.console import Console

        from codealign.cache import open_cache
        from codealign.config import load_config
        from codealign.loop import LoopConfig, run_loop

        cfg = load_config(LoopConfig, config, overrides)
        console = Console(stderr=True)
        cache = open_cache(cache_dir, enabled=not no_cache)
        try:
            summary = run_loop(cfg, cache, console, progress=not quiet)
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/]: finished steps are saved; rerun the same command to continue ({cfg.loop_dir})")
            raise typer.Exit(130) from None
        finally:
            cache.close()
        from codealign.loop.report import terminal_table

        Console().print(terminal_table(summary))
        out = Path(cfg.loop_dir)
        typer.echo(f"last model: {summary['last_model']}  ({summary['rounds_trained']} of {summary['rounds_requested']} "
                   "round(s) trained)")
        if summary["stopped"]:
            typer.echo(f"stopped: {summary['stopped']}")
        typer.echo(f"summary: {out / 'summary.json'}  report: {out / 'report.html'}")
