"""The TRL and PEFT wiring: the batch plan, SFTConfig/DPOConfig from our config, the trainers, and the saved model.

The data reaches TRL already tokenized: SFT examples carry `input_ids` and `labels` (TRL trains on them as they
are), DPO examples carry `prompt_ids`, `chosen_ids` and `rejected_ids` (TRL's collator masks the prompt). So the
masking, EOS and length rules of our formats are what the trainers see, whatever TRL's own defaults are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError
from codealign.train.distributed import world_size


@dataclass
class BatchPlan:
    per_device: int
    accumulation: int
    processes: int

    @property
    def global_size(self) -> int:
        return self.per_device * self.accumulation * self.processes

    def as_dict(self) -> dict[str, int]:
        return {"global": self.global_size, "per_device": self.per_device, "accumulation": self.accumulation,
                "processes": self.processes}  # fmt: skip


def batch_plan(config: Any) -> BatchPlan:
    """Gradient accumulation that makes `batch_size` examples per optimizer step over every process."""
    processes = world_size()
    per_device = min(config.per_device_batch_size, max(config.batch_size // processes, 1))
    if config.batch_size % (per_device * processes):
        raise ConfigError(f"batch_size {config.batch_size} is not a multiple of per_device_batch_size {per_device} x "
                          f"{processes} processes")  # fmt: skip
    return BatchPlan(per_device, config.batch_size // (per_device * processes), processes)


def trainer_args(config: Any, out: Path, device: str, has_eval: bool, plan: BatchPlan) -> Any:
    import torch
    from trl import DPOConfig, SFTConfig

    from codealign.llm.hf_loading import resolve_dtype

    dtype = resolve_dtype(config.dtype, device)
    on_gpu = device == "cuda"
    eval_strategy = "no" if not has_eval else "steps" if config.eval_steps else "epoch"
    common: dict[str, Any] = dict(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=plan.per_device,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=plan.accumulation,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,  # below 1: a ratio of the total steps
        optim=config.optimizer,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy=eval_strategy,
        eval_steps=config.eval_steps,
        seed=config.seed,
        data_seed=config.seed,
        bf16=on_gpu and dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        use_cpu=device == "cpu",
        report_to="none",
        disable_tqdm=True,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        include_num_input_tokens_seen="non_padding",
        max_length=config.max_length,
        trust_remote_code=config.trust_remote_code,
    )
    if config.stage == "sft":
        return SFTConfig(**common, packing=False)
    return DPOConfig(**common, beta=config.beta, loss_type=[config.loss_type])


def build_trainer(
    config: Any, model: Any, ref_model: Any, tokenizer: Any, train: list[dict], evaluation: list[dict],
    peft_config: Any, args: Any, callbacks: list[Any],
) -> Any:  # fmt: skip
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback

    train_ds = Dataset.from_list(train)
    eval_ds = Dataset.from_list(evaluation) if evaluation else None
    common = dict(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer,
                  peft_config=peft_config, callbacks=callbacks)  # fmt: skip
    if config.stage == "sft":
        from trl import SFTTrainer

        trainer = SFTTrainer(**common)
    else:
        trainer = _dpo_trainer_class()(ref_model=ref_model, **common)
    for cb in (PrinterCallback, ProgressCallback):  # our progress bar and log replace them
        trainer.remove_callback(cb)
    _expose_head_bias(trainer.model)
    return trainer


def _expose_head_bias(model: Any) -> None:
    """TRL's fused LM head reads `lm_head.weight` and `lm_head.bias`. When LoRA trains added tokens of a model with
    tied embeddings, PEFT wraps the head in a TrainableTokensWrapper that gives the merged `weight` (trained rows
    included) but not `bias`; hand it the wrapped layer's own bias (None for most LMs) so the two work together."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or type(head).__name__ != "TrainableTokensWrapper":
        return
    try:
        head.bias  # noqa: B018
    except AttributeError:
        head.bias = getattr(head.original_module, "bias", None)


def _dpo_trainer_class() -> Any:
    from trl import DPOTrainer

    class PretokenizedDPOTrainer(DPOTrainer):
        """DPOTrainer that takes pairs already tokenized by our formats (TRL tokenizes only raw text itself)."""

        def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
            if "prompt_ids" in dataset.column_names:
                return dataset
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

    return PretokenizedDPOTrainer


def save_model(config: Any, trainer: Any, tokenizer: Any, vocab: Any, device: str, out: Path) -> dict[str, str]:
    """Write the trained weights where a server loads them as they are; returns what was written where."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    # Training turns the key/value cache off; a served model wants it on.
    for cfg in {id(c): c for c in (getattr(model, "config", None), getattr(model.get_base_model(), "config", None)
                                   if hasattr(model, "get_base_model") else None) if c is not None}.values():  # fmt: skip
        cfg.use_cache = True
    written: dict[str, str] = {}
    if config.peft == "none":
        trainer.save_model(str(out))
        written["model"] = str(out)
    else:
        adapter_dir = out / "adapter" if config.merge else out
        trainer.save_model(str(adapter_dir))
        written["adapter"] = str(adapter_dir)
        if config.merge:
            merged = _merged(config, model, tokenizer, vocab, device, adapter_dir)
            merged.config.use_cache = True
            merged.save_pretrained(str(out))
            written["model"] = f"{out} (adapter merged)"
    tokenizer.save_pretrained(str(out))
    return written


def _merged(config: Any, model: Any, tokenizer: Any, vocab: Any, device: str, adapter_dir: Path) -> Any:
    """Full weights with the adapter merged in; a 4-bit base is reloaded unquantized first, so nothing is rounded."""
    if config.peft == "qlora":
        from peft import PeftModel

        from codealign.train.model import load_model

        base = load_model(config, tokenizer, vocab, device, quantized=False)
        return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    return model.merge_and_unload()
