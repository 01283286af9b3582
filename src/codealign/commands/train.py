"""`codealign train CONFIG.yaml`: SFT or DPO of a model on a run directory or any instruction data; resumable."""

from __future__ import annotations

from pathlib import Path

import typer

TRAIN_HELP = """Fine-tune the model of CONFIG with TRL (SFT or DPO; every weight, LoRA or QLoRA).

The minimal config names stage, model, output_dir and data (a codealign run directory, JSONL/Parquet, or a Hugging
Face dataset); every other option has the recipe's default (SFT: SelfCodeAlign; DPO: Zephyr), see
examples/train-sft.yaml and examples/train-dpo.yaml, annotated. output_dir ends up with the weights, the tokenizer
with its chat template, README.md (model card), train_log.jsonl and loss_curve.svg.

Re-running the same command after a crash or kill continues from the last checkpoint and ends at the same step.
Several GPUs: accelerate launch -m codealign train CONFIG.yaml.

Override any option with --set, e.g. --set model=./base --set data=runs/demo --set peft=lora --set epochs=2.
"""


def register(app: typer.Typer) -> None:
    @app.command("train", help=TRAIN_HELP)
    def train_command(
        config: Path = typer.Argument(..., help="YAML training config (see examples/train-sft.yaml)."),
        overrides: list[str] = typer.Option(
            [], "--set", help="Override one option: key.sub=value (the value is parsed as YAML). Repeatable."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary."),
    ) -> None:
        from rich.console import Console

        from codealign.config import load_config
        from codealign.train import TrainConfig, train
        from codealign.train.progress import summary_table

        cfg = load_config(TrainConfig, config, overrides)
        if quiet:
            cfg.progress = False
        console = Console(stderr=True)
        try:
            summary = train(cfg, console)
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/]: rerun the same command to continue from the last checkpoint ({cfg.output_dir})")
            raise typer.Exit(130) from None
        if not summary:
            return  # not the main process of a multi-process launch
        Console().print(summary_table(summary))
        outputs = summary["outputs"]
        typer.echo(f"model: {outputs.get('model', outputs.get('adapter'))}  card: {outputs['card']}  "
                   f"log: {outputs['log']}  loss curve: {outputs['loss curve']}")
