"""Fill-in-the-middle (Bavarian et al. 2022), at character level, in StarCoder's token order.

Each document becomes a FIM example with probability `fim.rate` (else it stays plain code). Two cut points drawn
uniformly over its characters split it into prefix, middle and suffix; each piece is tokenized on its own, so a cut
never falls inside a token. With probability `fim.spm_rate` the example is in SPM order, else PSM:

    PSM   <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle <eos>
    SPM   <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle <eos>

The loss covers every token, as in the pretraining recipes. The tokenizer's own FIM tokens are used when it has a
known set (StarCoder, SantaCoder, Qwen2.5-Coder, DeepSeek-Coder spellings) or when the config names them; otherwise
StarCoder's names are added to the vocabulary and the embeddings resized (the run says so). Draws are seeded per
row, so the same data gives the same examples on every run.
"""

from __future__ import annotations

import random
from typing import Any

from codealign.train.formats.base import Format
from codealign.train.formats.completion import TEXT_FIELDS, document_text

# (prefix, middle, suffix) token spellings of known code-model families, tried in order
KNOWN_FIM_TOKENS = (
    ("<fim_prefix>", "<fim_middle>", "<fim_suffix>"),  # StarCoder, StarCoder2
    ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"),  # Qwen2.5-Coder
    ("<fim-prefix>", "<fim-middle>", "<fim-suffix>"),  # SantaCoder
    ("<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜fim▁hole｜>"),  # DeepSeek-Coder: begin, end (middle), hole (suffix)
)


def fim_split(text: str, rng: random.Random) -> tuple[str, str, str]:
    """Prefix, middle and suffix at two cut points drawn uniformly over the characters of `text`."""
    a, b = sorted((rng.randint(0, len(text)), rng.randint(0, len(text))))
    return text[:a], text[a:b], text[b:]


class FimFormat(Format):
    name = "fim"
    fields = {"text": TEXT_FIELDS}
    loss = "every token (FIM sentinels and EOS included)"

    def __init__(self, config: Any, tokenizer: Any) -> None:
        super().__init__(config, tokenizer)
        opts = config.fim
        named = (opts.prefix_token, opts.middle_token, opts.suffix_token)
        if any(named):
            defaults = KNOWN_FIM_TOKENS[0]
            self.names = tuple(n or d for n, d in zip(named, defaults, strict=True))
        else:
            found = [s for s in KNOWN_FIM_TOKENS if all(self.tokens.id(t) is not None for t in s)]
            self.names = found[0] if found else KNOWN_FIM_TOKENS[0]
        self.rate, self.spm_rate, self.seed = opts.rate, opts.spm_rate, config.seed

    def needed_tokens(self) -> list[str]:
        return list(self.names)

    def ids(self) -> tuple[int, int, int]:
        prefix, middle, suffix = (self.tokens.id(t) for t in self.names)
        assert prefix is not None and middle is not None and suffix is not None, "FIM tokens are added before encoding"
        return prefix, middle, suffix

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        text, problem = document_text(item)
        if problem:
            return problem
        rng = random.Random(f"{self.seed}:fim:{key}")
        if rng.random() >= self.rate:
            examples = self.language_model([*self.tokens.start(text), self.tokens.eos_id])
            mode = "none"
        else:
            prefix, middle, suffix = fim_split(text, rng)
            p, m, s = self.ids()
            enc = self.tokens.text
            if rng.random() < self.spm_rate:
                mode = "spm"
                ids = [p, s, *enc(suffix), m, *enc(prefix), *enc(middle)]
            else:
                mode = "psm"
                ids = [p, *enc(prefix), s, *enc(suffix), m, *enc(middle)]
            examples = self.language_model([*self.tokens.prefix, *ids, self.tokens.eos_id])
        if isinstance(examples, list):
            for ex in examples:
                ex["fim"] = mode
        return examples
