"""The completion format: plain code (curated seeds, whole files), loss on every token, EOS at the end.

Files longer than `max_length` are dropped and counted by default; `overflow: split` cuts them into windows of
`max_length` tokens instead, each trained on every token (only the last window ends with EOS).
"""

from __future__ import annotations

from typing import Any

from codealign.train.formats.base import Format, as_text

TEXT_FIELDS = ("text", "content", "code", "seed", "source")


def document_text(item: dict[str, Any]) -> tuple[str, str | None]:
    """An item's text and, when it cannot be trained on, why (the completion and FIM formats read documents alike)."""
    text = as_text(item.get("text"))
    if text is None:
        return "", "text is not a string"
    return text, None if text.strip() else "empty text"


class CompletionFormat(Format):
    name = "completion"
    fields = {"text": TEXT_FIELDS}
    splittable = True
    loss = "every token, EOS included"

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        text, problem = document_text(item)
        if problem:
            return problem
        return self.language_model([*self.tokens.start(text), self.tokens.eos_id])
