"""What every training format shares: reading its fields from a row, tokenizing without surprises, and fitting an
example into `max_length` (dropped and counted, or split into windows, never cut into an empty target).

A format turns rows into examples. An SFT example is `{"input_ids", "labels"}` with labels -100 on every token the
loss must ignore (the prompt) and the token id elsewhere, the EOS token included; a DPO example is
`{"prompt_ids", "chosen_ids", "rejected_ids"}`. Both carry `group`, so the eval split never separates examples
made from one row (or one repository). A row that yields nothing yields its reason instead, which is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from codealign.errors import ConfigError

IGNORE = -100  # the label value PyTorch's cross-entropy skips


class Tokens:
    """The tokenizer calls every format needs, with the same conventions everywhere.

    Content (instructions, responses, code) is encoded with `split_special_tokens=True`: a file that contains the text
    "<|endoftext|>" trains on those characters, not on an end-of-sequence token in the middle of the file.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer
        if tokenizer.eos_token_id is None:
            raise ConfigError("the tokenizer has no EOS token; set one (tokenizer.eos_token) before training")
        self.eos_id: int = tokenizer.eos_token_id
        bare = tokenizer("a", add_special_tokens=False)["input_ids"]
        full = tokenizer("a", add_special_tokens=True)["input_ids"]
        # What the tokenizer puts before a sequence on its own (a BOS token for Llama-style tokenizers, often nothing);
        # anything it appends (some add EOS) is left out: formats place EOS themselves.
        at = next((i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare), 0)
        self.prefix: list[int] = list(full[:at])

    def text(self, text: str) -> list[int]:
        """Token ids of content, no special tokens added, none parsed out of the text."""
        if not text:
            return []
        return list(self.tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])

    def start(self, text: str) -> list[int]:
        """Token ids of the text that opens a sequence: the tokenizer's prefix (BOS) and then the content."""
        return [*self.prefix, *self.text(text)]

    def rendered(self, text: str) -> list[int]:
        """Token ids of text that holds special tokens on purpose (a rendered chat template)."""
        return list(self.tok(text, add_special_tokens=False)["input_ids"]) if text else []

    def id(self, token: str) -> int | None:
        """The id of a token that is one entry of the vocabulary (added tokens included), else None."""
        tid = self.tok.get_vocab().get(token)
        return None if tid is None else int(tid)


class Format:
    """A training format. Subclasses set `name` and `fields`, and implement `encode` (or `encode_rows`)."""

    name: ClassVar[str] = ""
    # our field name -> the row fields tried in order when the source names none; "a.b" looks inside nested rows
    fields: ClassVar[dict[str, tuple[str, ...]]] = {}
    optional: ClassVar[frozenset[str]] = frozenset()
    splittable: ClassVar[bool] = False  # may overflow: split turn long sequences into windows
    loss: ClassVar[str] = ""  # what the loss covers, for the model card

    def __init__(self, config: Any, tokenizer: Any) -> None:
        self.config = config
        self.tokens = Tokens(tokenizer)
        self.max_length: int = config.max_length
        self.overflow = config.overflow or ("split" if self.splittable else "drop")
        if self.overflow == "split" and not self.splittable:
            raise ConfigError(f"overflow: split applies to the completion and repo formats, not to {self.name!r}")

    # -- what a format may ask of the tokenizer before encoding --------------------------------------------------

    def needed_tokens(self) -> list[str]:
        """Special tokens this format writes; the ones the tokenizer lacks are added (and the embeddings resized)."""
        return []

    def chat_template(self) -> str | None:
        """The chat template to save with the trained model, when this format decides it; None keeps the tokenizer's."""
        return None

    # -- encoding ----------------------------------------------------------------------------------------------

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        """Examples made from one row (its fields by our names), or the reason it makes none. `key` seeds randomness."""
        raise NotImplementedError

    def encode_rows(self, items: list[dict[str, Any]], key: str) -> Iterator[tuple[int, list[dict[str, Any]] | str]]:
        """(row index, examples or reason) for every row; formats that combine rows (repo) override this."""
        return per_row(self.encode, items, key)

    def prompt_ids(self, prompt: Any) -> list[int]:
        """The token ids of a DPO prompt in this format; formats without a prompt cannot be used for DPO."""
        raise ConfigError(f"format {self.name!r} has no prompt; DPO needs format: instruction or chat")

    # -- fitting into max_length -------------------------------------------------------------------------------

    def supervised(self, prompt: list[int], target: list[int]) -> list[dict[str, Any]] | str:
        """One example: the loss on `target` only. Too long is a reason, never a cut target."""
        if not target:
            return "empty target"
        if len(prompt) + len(target) > self.max_length:
            return "too long"
        return [{"input_ids": [*prompt, *target], "labels": [IGNORE] * len(prompt) + list(target)}]

    def language_model(self, ids: list[int]) -> list[dict[str, Any]] | str:
        """Loss on every token; over max_length either dropped or, with overflow: split, cut into windows."""
        if len(ids) <= self.max_length:
            return [{"input_ids": ids, "labels": list(ids)}]
        if self.overflow == "drop":
            return "too long"
        step = self.max_length
        return [{"input_ids": ids[i : i + step], "labels": ids[i : i + step], "window": i // step}
                for i in range(0, len(ids), step) if len(ids[i : i + step]) > 1]  # fmt: skip


def per_row(
    encode: Any, items: list[dict[str, Any]], key: str
) -> Iterator[tuple[int, list[dict[str, Any]] | str]]:
    """(row index, examples or reason) for rows encoded one by one; each row's examples form one group."""
    for i, item in enumerate(items):
        out = encode(item, f"{key}:{i}")
        if isinstance(out, list):
            for ex in out:
                ex.setdefault("group", f"{key}:{i}")
        yield i, out


def as_text(value: Any) -> str | None:
    """A field's value as text, or None when it is missing or not a string."""
    return value if isinstance(value, str) else None
