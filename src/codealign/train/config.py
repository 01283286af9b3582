"""TrainConfig: everything `codealign train` needs, as one typed model; the YAML file and `--set` flags are views of it.

Options left unset take the defaults of the recipe the stage follows (see `DEFAULTS` and examples/train-*.yaml):
SFT follows SelfCodeAlign (StarCoder2-Instruct), DPO follows Zephyr-7B-beta in the alignment handbook, and LoRA
learning rates follow the handbook's QLoRA recipes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from codealign.config import StrictModel

Stage = Literal["sft", "dpo"]
PeftKind = Literal["none", "lora", "qlora"]

# Defaults per stage, then the entries that change when training an adapter instead of every weight.
DEFAULTS: dict[str, dict[str, Any]] = {
    "sft": {  # SelfCodeAlign README-SC2INST.md, "Training Details"
        "learning_rate": 1e-5,
        "epochs": 4.0,
        "batch_size": 64,
        "per_device_batch_size": 1,
        "warmup_ratio": 0.05,
        "scheduler": "linear",
        "max_length": 1280,
        "optimizer": "adafactor",
        "max_grad_norm": 0.0,  # --max_grad_norm -1: no clipping (0 here)
        "dropout": 0.0,
    },
    "dpo": {  # alignment-handbook recipes/zephyr-7b-beta/dpo/config_full.yaml
        "learning_rate": 5e-7,
        "epochs": 1.0,
        "batch_size": 128,  # 8 per device x 2 accumulation x 8 GPUs
        "per_device_batch_size": 8,
        "warmup_ratio": 0.1,
        "scheduler": "cosine",
        "max_length": 1024,
        "optimizer": "adamw_torch",
        "max_grad_norm": 1.0,  # the transformers default, which the recipe keeps
        "dropout": 0.0,  # TRL's DPOConfig disables dropout by default
    },
}
ADAPTER_DEFAULTS: dict[str, dict[str, Any]] = {
    "sft": {"learning_rate": 2e-4},  # zephyr-7b-beta/sft/config_qlora.yaml
    "dpo": {"learning_rate": 5e-6},  # zephyr-7b-beta/dpo/config_qlora.yaml
}

# Keys that change nothing about the weights a run produces: a resumed run may change them freely.
FREE_KEYS = frozenset({
    "output_dir", "logging_steps", "save_steps", "save_total_limit", "keep_checkpoints", "per_device_batch_size",
    "eval_batch_size", "merge", "progress",
})  # fmt: skip


def known_format(name: str | None) -> str | None:
    """A format name the registry knows (checked when the config is read, before any model loads)."""
    from codealign.registry import TRAIN_FORMATS

    if name is not None and name not in TRAIN_FORMATS:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(TRAIN_FORMATS.names())}")
    return name


class DataSource(StrictModel):
    """One dataset: a codealign run directory, a JSONL/Parquet file or folder, or a Hugging Face dataset id."""

    path: str = Field(..., description="run directory, .jsonl/.parquet file or folder, or a Hugging Face dataset id")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="our field name -> the row's (dotted) field, e.g. {instruction: question, response: answer.text}",
    )
    weight: float = Field(1.0, gt=0, description="rows used per row given: 0.5 = a seeded half, 2 = every row twice")
    limit: int | None = Field(None, ge=1, description="read only the first N rows")
    format: str | None = Field(None, description="this source's format, when it differs from the top-level one")
    split: str = Field("train", description="Hugging Face datasets: the split to read")
    name: str | None = Field(None, description="Hugging Face datasets: the configuration name")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        return known_format(value)


class LoraOptions(StrictModel):
    """The adapter of `peft: lora` and `peft: qlora` (PEFT's LoraConfig)."""

    r: int = Field(16, ge=1, description="rank (zephyr-7b-beta QLoRA recipe)")
    alpha: float = Field(16, gt=0, description="scaling numerator: the update is scaled by alpha / r")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the adapter's input")
    target_modules: str | list[str] = Field("all-linear", description="'all-linear' (every linear layer but the head) or names")


class FimOptions(StrictModel):
    """Fill-in-the-middle at character level (Bavarian et al. 2022; StarCoder's token order)."""

    rate: float = Field(0.5, ge=0, le=1, description="share of documents turned into FIM examples")
    spm_rate: float = Field(0.5, ge=0, le=1, description="share of FIM examples in SPM order (the rest are PSM)")
    prefix_token: str | None = Field(None, description="default: the tokenizer's own FIM tokens, else <fim_prefix>")
    middle_token: str | None = None
    suffix_token: str | None = None


class RepoOptions(StrictModel):
    """Repository-level packing: the files of one repository in one sequence (StarCoder2 layout)."""

    orders: int = Field(2, ge=1, description="distinct file orders per repository (each is one example)")
    metadata_rate: float = Field(0.5, ge=0, le=1, description="share of sequences with the repository name and file paths")
    repo_token: str = Field("<repo_name>", description="comes before the repository name")
    file_token: str = Field("<file_sep>", description="comes before each file (and its path)")


class CommitOptions(StrictModel):
    """OctoPack's commit layout: file before, commit message, file after; the loss is on the file after."""

    before_token: str = "<commit_before>"
    message_token: str = "<commit_msg>"
    after_token: str = "<commit_after>"


class TrainConfig(StrictModel):
    """One training run: a model, data in one of the formats, a stage (SFT or DPO), full weights or an adapter."""

    stage: Stage = Field("sft", description="sft: supervised fine-tuning; dpo: preference optimisation on pairs")
    model: str = Field(..., description="local folder or hub id of the model to train")
    revision: str | None = None
    trust_remote_code: bool = False
    output_dir: str = Field(..., description="the trained model, its card, train_log.jsonl and loss_curve.svg")
    data: list[DataSource] = Field(..., min_length=1, description="one source or a list; a plain string is a path")
    format: str = Field("instruction", description="instruction, chat, completion, fim, repo or commits")
    template: str = Field("selfcodealign", description="instruction format: a shipped template name or a .txt file")
    chat_template: str | None = Field(None, description="chat format: a .jinja file, for tokenizers without one")
    fim: FimOptions = Field(default_factory=FimOptions)
    repo: RepoOptions = Field(default_factory=RepoOptions)
    commits: CommitOptions = Field(default_factory=CommitOptions)
    overflow: Literal["drop", "split"] | None = Field(
        None, description="examples over max_length: drop, or split into windows (completion, repo); null = split "
        "for completion and repo, drop for the rest"
    )
    eval_size: float = Field(0.05, ge=0, description="held-out share (<1) or count (>=1) of examples; 0 = none")

    peft: PeftKind = Field("none", description="none: every weight; lora: an adapter; qlora: an adapter on a 4-bit base")
    lora: LoraOptions = Field(default_factory=LoraOptions)
    merge: bool = Field(True, description="lora/qlora: also write the adapter merged into full weights")

    learning_rate: float | None = Field(None, gt=0)
    epochs: float | None = Field(None, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    batch_size: int | None = Field(None, ge=1, description="examples per optimizer step, over all devices")
    per_device_batch_size: int | None = Field(None, ge=1, description="examples per forward pass; the rest is accumulation")
    eval_batch_size: int = Field(8, ge=1)
    warmup_ratio: float | None = Field(None, ge=0, lt=1)
    scheduler: str | None = Field(None, description="linear, cosine, constant, ... (transformers scheduler names)")
    optimizer: str | None = Field(None, description="adafactor, adamw_torch, ... (transformers optimizer names)")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(None, ge=0, description="gradient clipping norm; 0 = no clipping")
    max_length: int | None = Field(None, ge=8, description="tokens per example, prompt included")
    dropout: float | None = Field(None, ge=0, lt=1, description="set every dropout of the model to this; null = keep")
    beta: float = Field(0.01, gt=0, description="dpo: strength of the KL penalty (zephyr-7b-beta)")
    loss_type: str = Field("sigmoid", description="dpo: TRL's loss type")
    gradient_checkpointing: bool = Field(True, description="recompute activations in the backward pass (TRL's default)")
    dtype: str = Field("auto", description="weights: auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16, float16")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="cpu forces the CPU even when a GPU is present")
    seed: int = Field(42, description="shuffles, eval split, FIM and repo orders, sampling weights, initialisation")

    logging_steps: int = Field(10, ge=1, description="steps between loss lines in train_log.jsonl")
    eval_steps: int | None = Field(None, ge=1, description="steps between eval-loss measurements; null = each epoch")
    save_steps: int = Field(100, ge=1, description="steps between checkpoints (what a rerun resumes from)")
    save_total_limit: int = Field(2, ge=1, description="checkpoints kept while training")
    keep_checkpoints: bool = Field(False, description="keep output_dir/checkpoints after a successful run")
    progress: bool = Field(True, description="show the progress bar")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        return known_format(value)

    @field_validator("data", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> TrainConfig:
        # Writing to __dict__ skips validate_assignment, which would run this validator again.
        table = {**DEFAULTS[self.stage], **(ADAPTER_DEFAULTS[self.stage] if self.peft != "none" else {})}
        for key, value in table.items():
            if getattr(self, key) is None:
                self.__dict__[key] = value
        return self

    def fixed(self) -> dict[str, Any]:
        """What decides the trained weights; a resumed run must agree on all of it."""
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if k not in FREE_KEYS}
