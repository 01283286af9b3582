"""A tiny random causal LM for tests and the offline demo: a small Llama with a byte-level BPE tokenizer trained on
local Python sources.

Nothing is downloaded. The model is random, so its text is noise, but it is a real `transformers` model with a real
tokenizer and chat template: backends, servers and trainers treat it exactly like a hub checkpoint.

    python -m codealign.testing.tiny_model ./tiny [--hidden-size 64] [--layers 2]
"""

from __future__ import annotations

import inspect
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def _training_text() -> list[str]:
    """Source of a few standard-library modules: code-like text that is always present."""
    import argparse
    import collections
    import dataclasses
    import functools
    import json.decoder
    import textwrap

    return [inspect.getsource(m) for m in (argparse, collections, dataclasses, functools, json.decoder, textwrap)]


def build_tiny_model(
    path: str | Path, vocab_size: int = 1024, seed: int = 0, hidden_size: int = 64, layers: int = 2
) -> Path:
    """Build and save (save_pretrained) a tiny random Llama and its tokenizer under `path`; returns `path`.

    The defaults make a 2-layer model of about 0.1M parameters; `hidden_size` and `layers` scale it up (benchmarks).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(_training_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        unk_token="<|endoftext|>",
        model_max_length=2048,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    return path


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Build a tiny random Llama and its tokenizer (no download).")
    parser.add_argument("path", nargs="?", default="tiny-model")
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    print(build_tiny_model(args.path, seed=args.seed, hidden_size=args.hidden_size, layers=args.layers))


if __name__ == "__main__":
    main()
