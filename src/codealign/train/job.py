"""One training run from a TrainConfig to a finished output folder: the steps in order, resumable at any point.

check the output folder -> tokenizer and formats -> special tokens -> data (encoded, counted, split, weighted) ->
model (and reference model, adapter) -> TRL trainer -> train (from the last whole checkpoint) -> final eval ->
weights, tokenizer with its chat template -> train_log.jsonl, loss_curve.svg, README.md -> train_summary.json.
"""

from __future__ import annotations

import importlib.util
import resource
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codealign.errors import MissingDependency
from codealign.train import resume
from codealign.train.config import TrainConfig
from codealign.train.distributed import is_main, wait_for_everyone

HF_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")
LOG_FILE = "train_log.jsonl"
CURVE_FILE = "loss_curve.svg"


def require_hf() -> None:
    """One line naming the extra when any training library is missing."""
    for package in HF_PACKAGES:
        if importlib.util.find_spec(package) is None:
            raise MissingDependency(package, "hf", purpose="codealign train")


def make_formats(config: TrainConfig, tokenizer: Any) -> dict[str, Any]:
    """Every format the sources use, by name; for DPO each wraps into preference pairs."""
    from codealign.registry import TRAIN_FORMATS
    from codealign.train.formats.dpo import PreferencePairs

    names = dict.fromkeys([config.format, *(s.format for s in config.data if s.format)])
    formats = {name: TRAIN_FORMATS.get(name)(config, tokenizer) for name in names}
    if config.stage == "dpo":
        return {name: PreferencePairs(fmt) for name, fmt in formats.items()}
    return formats


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("codealign", *HF_PACKAGES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def peak_memory(device: str) -> tuple[float, str]:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20, "CUDA allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process RSS"


@dataclass
class Setup:
    """Everything a run is made of, up to the trainer: what `train` runs and what tests inspect."""

    config: TrainConfig
    device: str
    plan: Any
    tokenizer: Any
    formats: dict[str, Any]
    vocab: Any
    prepared: Any
    trainer: Any = None


def prepare_data(config: TrainConfig, say: Any = None) -> Setup:
    """Tokenizer, formats, special tokens and the encoded data; no model is loaded yet."""
    from codealign.train import model as models
    from codealign.train.data import prepare
    from codealign.train.trainer import batch_plan

    device = models.device_kind(config)
    plan = batch_plan(config)
    tokenizer = models.load_tokenizer(config)
    formats = make_formats(config, tokenizer)
    vocab = models.prepare_vocab(tokenizer, [t for f in formats.values() for t in f.needed_tokens()])
    for note in vocab.notes:
        (say or (lambda *a: None))(f"[yellow]tokenizer[/]: {note}")
    return Setup(config, device, plan, tokenizer, formats, vocab, prepare(config, formats))


def make_trainer(setup: Setup, callbacks: list[Any]) -> Any:
    """The model (a reference copy for full DPO, an adapter for LoRA) and the TRL trainer around it."""
    from codealign.train import model as models
    from codealign.train.trainer import build_trainer, trainer_args

    config, device = setup.config, setup.device
    model = models.load_model(config, setup.tokenizer, setup.vocab, device)
    ref_model = None
    if config.stage == "dpo" and config.peft == "none":
        ref_model = models.load_model(config, setup.tokenizer, setup.vocab, device)  # frozen copy of the start
    if config.peft == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    args = trainer_args(config, Path(config.output_dir), device, bool(setup.prepared.eval), setup.plan)
    setup.trainer = build_trainer(config, model, ref_model, setup.tokenizer, setup.prepared.train, setup.prepared.eval,
                                  models.lora_config(config, setup.vocab), args, callbacks)  # fmt: skip
    return setup.trainer


def train(config: TrainConfig, console: Any = None) -> dict[str, Any]:
    """Train as `config` says and return the run summary (also in output_dir/train_summary.json)."""
    from rich.console import Console

    require_hf()
    import datasets

    datasets.disable_progress_bars()  # TRL's dataset passes are instant here: the data comes tokenized
    console = console or Console(stderr=True)
    main = is_main()
    say = console.print if main else (lambda *a, **k: None)
    out = Path(config.output_dir)
    fixed = config.fixed()
    resume.check_config(out, fixed)
    done = resume.finished(out)
    if done is not None:
        say(f"[green]already trained[/]: {out} is a finished run of this config; nothing to do")
        return {**done, "already": True}

    from codealign.train.data import run_info
    from codealign.train.progress import callbacks, read_log
    from codealign.train.trainer import save_model

    setup = prepare_data(config, say)
    prepared, plan, device, tokenizer, vocab, formats = (setup.prepared, setup.plan, setup.device, setup.tokenizer,
                                                         setup.vocab, setup.formats)  # fmt: skip
    resume.check_data(out, prepared.fingerprint)
    if main:
        resume.start(out, fixed, prepared.fingerprint)
    wait_for_everyone()
    checkpoint = resume.last_checkpoint(out, clean=main)
    wait_for_everyone()
    start_step, start_tokens = 0, 0
    if checkpoint is not None:
        state = resume.read_json(checkpoint / "trainer_state.json") or {}
        start_step, start_tokens = state.get("global_step", 0), state.get("num_input_tokens_seen", 0) or 0
        say(f"[cyan]resuming[/] from {checkpoint.name} (step {start_step})")
    log_path = out / LOG_FILE
    if main:
        resume.trim_log(log_path, start_step)
    say(f"data: {len(prepared.train):,} training and {len(prepared.eval):,} eval examples from "
        f"{sum(s.rows for s in prepared.sources):,} rows; batch {plan.global_size} "
        f"({plan.per_device} x {plan.accumulation} accumulation x {plan.processes} processes) on {device}")  # fmt: skip

    with warnings.catch_warnings():
        # TRL and PEFT still call transformers names that transformers 5 renamed; nothing a user can act on.
        warnings.filterwarnings("ignore", message=".*deprecated and will be removed in v6", category=FutureWarning)
        trainer = make_trainer(setup, callbacks(log_path, console, config.progress and main))
        began = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        if prepared.eval:
            trainer.evaluate()
        seconds = time.perf_counter() - began
    wait_for_everyone()

    template = next((t for t in (f.chat_template() for f in formats.values()) if t), None)
    if template:
        tokenizer.chat_template = template
    written = save_model(config, trainer, tokenizer, vocab, device, out) if main else {}
    wait_for_everyone()
    if not main:
        return {}

    state = trainer.state
    rows = read_log(log_path)
    losses = [r["loss"] for r in rows if "loss" in r]
    last = {k: next((r[k] for r in reversed(rows) if k in r), None) for k in ("eval_loss", "rewards/margins", "rewards/accuracies")}
    tokens_now = (state.num_input_tokens_seen or 0) - start_tokens
    memory, memory_kind = peak_memory(device)
    results = {
        "steps": state.global_step, "epochs": float(state.epoch or 0), "train_examples": len(prepared.train),
        "first_loss": round(losses[0], 4) if losses else None, "last_loss": round(losses[-1], 4) if losses else None,
        **{k: v for k, v in last.items() if v is not None}, "tokens": int(state.num_input_tokens_seen or 0),
        "seconds": round(seconds, 2), "tokens_per_second": round(tokens_now / seconds, 1) if seconds > 0 else 0.0,
        "resumed_from": start_step or None, "peak_memory_mb": round(memory, 1), "memory_kind": memory_kind,
    }  # fmt: skip
    runs = [run_info(Path(s.path).expanduser()) for s in prepared.sources if s.kind == "run"]
    summary: dict[str, Any] = {
        "name": out.resolve().name, "stage": config.stage, "output_dir": str(out),
        "config": config.model_dump(mode="json"), "batch": plan.as_dict(), "data": prepared.as_dict(),
        "runs": runs, "vocab_notes": vocab.notes, "loss": next(iter(formats.values())).loss,
        "results": results, "versions": versions(),
        "outputs": {**written, "log": str(log_path), "loss curve": str(out / CURVE_FILE), "card": str(out / "README.md")},
    }  # fmt: skip
    from codealign.records import AtomicWriter
    from codealign.train.card import render_card
    from codealign.train.plot import loss_svg

    with AtomicWriter(out / CURVE_FILE) as fh:
        fh.write(loss_svg(rows, f"{config.stage.upper()} of {Path(config.model).name}: loss"))
    with AtomicWriter(out / "README.md") as fh:
        fh.write(render_card(summary))
    resume.write_json(out / resume.SUMMARY_FILE, summary)  # the run is finished
    if not config.keep_checkpoints:
        shutil.rmtree(out / resume.CHECKPOINTS, ignore_errors=True)
    return summary
