"""Preference pairs for DPO: a prompt in the instruction or chat format, a chosen and a rejected answer.

The prompt is rendered exactly as in SFT (so DPO continues the model SFT made), each answer is encoded after it with
EOS appended, and DPO's log-probabilities cover the answers only: TRL's collator masks the prompt by the length of
`prompt_ids`. A pair whose prompt and longer answer exceed `max_length` is dropped and counted, never truncated.
Rows are TRL's preference format (`prompt`, `chosen`, `rejected`, as `codealign run` writes to final/dpo.jsonl);
answers given as message lists use their last assistant message.
"""

from __future__ import annotations

from typing import Any

from codealign.train.formats.base import Format, per_row


def _answer(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        turns = [m.get("content") for m in value if isinstance(m, dict) and m.get("role") == "assistant"]
        return turns[-1] if turns and isinstance(turns[-1], str) else None
    return None


class PreferencePairs:
    """Wraps the prompt format; has the `fields` and `encode_rows` of a format, so data sources treat it as one."""

    name = "dpo"
    fields = {"prompt": ("prompt", "instruction"), "chosen": ("chosen",), "rejected": ("rejected",)}
    optional: frozenset[str] = frozenset()

    def __init__(self, prompt_format: Format) -> None:
        prompt_format.prompt_ids("")  # formats without a prompt refuse here, with the reason
        self.inner = prompt_format
        self.max_length = prompt_format.max_length
        self.loss = f"chosen and rejected answers and EOS; the prompt ({prompt_format.name} format) is masked"

    def needed_tokens(self) -> list[str]:
        return self.inner.needed_tokens()

    def chat_template(self) -> str | None:
        return self.inner.chat_template()

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        prompt, chosen, rejected = item.get("prompt"), _answer(item.get("chosen")), _answer(item.get("rejected"))
        if prompt is None or chosen is None or rejected is None:
            return "prompt, chosen or rejected is missing"
        if not chosen.strip() or not rejected.strip():
            return "empty answer"
        if chosen == rejected:
            return "chosen equals rejected"
        try:
            p = self.inner.prompt_ids(prompt)
            c, r = self.inner.answer_ids(prompt, chosen), self.inner.answer_ids(prompt, rejected)
        except ValueError as exc:
            return str(exc)
        if len(p) + max(len(c), len(r)) > self.max_length:
            return "too long"
        return [{"prompt_ids": p, "chosen_ids": c, "rejected_ids": r}]

    def encode_rows(self, items: list[dict[str, Any]], key: str) -> Any:
        return per_row(self.encode, items, key)
