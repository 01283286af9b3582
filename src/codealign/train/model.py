"""The model and tokenizer a run trains: loaded by the same code as the `transformers` backend, then made ready.

Ready means: the special tokens the formats write exist (added, and the embeddings resized, when the tokenizer lacks
them), the pad token is distinct from EOS (a pad equal to EOS would let padding logic mask the EOS the model must
learn), every dropout is the configured value, and for `qlora` the base is loaded in 4 bits. Each change is recorded
in `notes` and shown to the user.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from codealign.errors import ConfigError

PAD_TOKEN = "<|pad|>"


@dataclass
class Vocab:
    """What was done to the tokenizer: tokens added (and their ids), and how the pad token was chosen."""

    added: list[str] = field(default_factory=list)
    added_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    base_size: int = 0


def device_kind(config: Any) -> str:
    """cpu or cuda, as the trainer will use it; a config asking for what the machine lacks fails here."""
    import torch

    has_cuda = torch.cuda.is_available()
    if config.device == "cuda" and not has_cuda:
        raise ConfigError("device: cuda, but no CUDA device is visible (use device: auto or cpu)")
    kind = "cuda" if config.device != "cpu" and has_cuda else "cpu"
    if config.peft == "qlora":
        if kind != "cuda":
            raise ConfigError("peft: qlora needs a CUDA GPU (4-bit weights through bitsandbytes); on this machine use peft: lora")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError("peft: qlora needs bitsandbytes: pip install bitsandbytes (or use peft: lora)")
    return kind


def load_tokenizer(config: Any) -> Any:
    from codealign.llm.hf_loading import load_tokenizer as load

    return load(config.model, config.revision, config.trust_remote_code)


def prepare_vocab(tokenizer: Any, needed: list[str]) -> Vocab:
    """Add the tokens the formats need and a pad token distinct from EOS; returns what changed."""
    vocab = Vocab(base_size=len(tokenizer))
    existing = tokenizer.get_vocab()
    missing = [t for t in dict.fromkeys(needed) if t not in existing]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
        vocab.added += missing
        vocab.notes.append(f"added {len(missing)} special tokens the tokenizer lacked: {', '.join(missing)}")
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    if pad is None or pad == eos:
        unk = tokenizer.unk_token_id
        if unk is not None and unk != eos:
            tokenizer.pad_token = tokenizer.unk_token
            vocab.notes.append(f"pad token set to the unknown token {tokenizer.unk_token!r} (it was {'EOS' if pad is not None else 'unset'})")
        else:
            if PAD_TOKEN not in tokenizer.get_vocab():
                tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
                vocab.added.append(PAD_TOKEN)
            else:
                tokenizer.pad_token = PAD_TOKEN
            vocab.notes.append(f"pad token {PAD_TOKEN!r} added, distinct from EOS (it was {'EOS' if pad is not None else 'unset'})")
    vocab.added_ids = [tokenizer.convert_tokens_to_ids(t) for t in vocab.added]
    if vocab.added:
        vocab.notes.append(f"vocabulary {vocab.base_size} -> {len(tokenizer)} tokens; embeddings resized")
    return vocab


def _model_config(config: Any) -> Any:
    """The model's config with every dropout probability set to `config.dropout` (None keeps the model's)."""
    from transformers import AutoConfig

    from codealign.llm.hf_loading import model_source

    try:
        cfg = AutoConfig.from_pretrained(model_source(config.model), revision=config.revision,
                                         trust_remote_code=config.trust_remote_code)  # fmt: skip
    except (OSError, ValueError) as exc:
        from codealign.errors import BackendError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(f"cannot load model {config.model!r}: {first}") from None
    if config.dropout is not None:
        for sub in {id(cfg): cfg, id(cfg.get_text_config()): cfg.get_text_config()}.values():
            for name, value in list(vars(sub).items()):
                if ("dropout" in name or "pdrop" in name) and isinstance(value, float):
                    setattr(sub, name, config.dropout)
    return cfg


def load_model(config: Any, tokenizer: Any, vocab: Vocab, device: str, quantized: bool | None = None) -> Any:
    """The model to train (or the reference/base model when called again), embeddings sized for `tokenizer`."""
    import torch

    from codealign.llm.hf_loading import load_causal_lm, resolve_dtype

    dtype = resolve_dtype(config.dtype, device)
    kwargs: dict[str, Any] = {"config": _model_config(config)}
    if quantized if quantized is not None else config.peft == "qlora":
        from transformers import BitsAndBytesConfig

        from codealign.train.distributed import local_rank

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if dtype == torch.float32 else dtype,
        )  # fmt: skip
        kwargs["device_map"] = {"": local_rank()}
    model = load_causal_lm(config.model, config.revision, config.trust_remote_code, dtype=dtype, device=device, **kwargs)
    if len(tokenizer) != model.get_input_embeddings().weight.shape[0] and vocab.added:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    # The model must agree with the tokenizer on its special tokens, in what it saves too.
    model.config.pad_token_id = tokenizer.pad_token_id
    gen = model.generation_config
    gen.pad_token_id = tokenizer.pad_token_id
    eos = gen.eos_token_id
    eos_ids = eos if isinstance(eos, list) else [eos] if eos is not None else []
    if tokenizer.eos_token_id not in eos_ids:
        gen.eos_token_id = [*eos_ids, tokenizer.eos_token_id] if eos_ids else tokenizer.eos_token_id
    return model


def lora_config(config: Any, vocab: Vocab) -> Any:
    """PEFT's LoraConfig for `peft: lora|qlora`; tokens added to the vocabulary are trained too (their rows only)."""
    if config.peft == "none":
        return None
    from peft import LoraConfig

    opts = config.lora
    return LoraConfig(
        r=opts.r, lora_alpha=opts.alpha, lora_dropout=opts.dropout, target_modules=opts.target_modules,
        task_type="CAUSAL_LM", bias="none", trainable_token_indices=list(vocab.added_ids) or None,
    )  # fmt: skip
