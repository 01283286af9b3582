"""The chat format: messages rendered by the tokenizer's chat template, loss on the assistant turns only.

Each assistant turn is found by rendering the conversation up to it twice, with and without the turn: the text the
turn adds is trained on, everything else (system, user, the template's own markers) is masked. Each piece is
encoded on its own, as a server encodes a prompt before the model answers it. EOS is appended to the last turn when
the template does not end with it, so the model learns to stop. Rows with `instruction`/`response` instead of
`messages` become one user and one assistant message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codealign.errors import ConfigError
from codealign.train.formats.base import IGNORE, Format, as_text

ROLES = ("system", "user", "assistant")


class ChatFormat(Format):
    name = "chat"
    fields = {
        "messages": ("messages", "conversations"),
        "instruction": ("instruction", "prompt", "question"),
        "response": ("response", "completion", "output", "answer"),
    }
    optional = frozenset({"messages", "instruction", "response"})
    loss = "the assistant turns and EOS; system and user turns are masked"

    def __init__(self, config: Any, tokenizer: Any) -> None:
        super().__init__(config, tokenizer)
        if config.chat_template:
            path = Path(config.chat_template)
            if not path.is_file():
                raise ConfigError(f"chat_template file not found: {path}")
            tokenizer.chat_template = path.read_text(encoding="utf-8")
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                f"the tokenizer of {config.model!r} has no chat template: use format: instruction (a prompt template "
                "for base models), or give one with chat_template: path/to/template.jinja"
            )
        self.tok = tokenizer

    def chat_template(self) -> str:
        return self.tok.chat_template

    def _render(self, messages: list[dict[str, str]], generation_prompt: bool) -> str:
        try:
            return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
        except Exception as exc:  # jinja raises its own types, and templates raise on purpose (raise_exception)
            raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None

    def messages(self, item: dict[str, Any]) -> list[dict[str, str]] | str:
        raw = item.get("messages")
        if raw is None:
            instruction, response = as_text(item.get("instruction")), as_text(item.get("response"))
            if instruction is None or response is None:
                return "no messages (nor instruction and response)"
            raw = [{"role": "user", "content": instruction}, {"role": "assistant", "content": response}]
        if not isinstance(raw, list) or not raw:
            return "messages is not a list of messages"
        out = []
        for m in raw:
            role = m.get("role", m.get("from")) if isinstance(m, dict) else None
            content = m.get("content", m.get("value")) if isinstance(m, dict) else None
            role = {"human": "user", "gpt": "assistant"}.get(role, role)
            if role not in ROLES or not isinstance(content, str):
                return "a message without a known role and text content"
            out.append({"role": role, "content": content})
        return out

    def _prompt_messages(self, prompt: Any) -> list[dict[str, str]]:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else self.messages({"messages": prompt})
        if isinstance(messages, str):
            raise ValueError(f"the prompt is not chat messages: {messages}")
        return messages

    def prompt_ids(self, prompt: Any) -> list[int]:
        return self.tokens.rendered(self._render(self._prompt_messages(prompt), True))

    def answer_ids(self, prompt: Any, answer: str) -> list[int]:
        """The tokens an assistant turn adds after the prompt (its end-of-turn marker included), then EOS."""
        messages = self._prompt_messages(prompt)
        before = self._render(messages, True)
        after = self._render([*messages, {"role": "assistant", "content": answer}], False)
        if not after.startswith(before):
            raise ValueError("chat template renders the prompt differently once the answer is added")
        ids = self.tokens.rendered(after[len(before):])
        return ids if ids and ids[-1] == self.tokens.eos_id else [*ids, self.tokens.eos_id]

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        messages = self.messages(item)
        if isinstance(messages, str):
            return messages
        turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        if not turns:
            return "no assistant turn"
        ids: list[int] = []
        labels: list[int] = []
        done = ""  # text rendered so far
        try:
            for i in turns:
                before = self._render(messages[:i], True)
                after = self._render(messages[: i + 1], False)
                if not before.startswith(done) or not after.startswith(before):
                    return "chat template renders a turn differently once the next is added"
                masked = self.tokens.rendered(before[len(done):])
                answer = self.tokens.rendered(after[len(before):])
                ids += masked + answer
                labels += [IGNORE] * len(masked) + answer
                done = after
            rest = self._render(messages, False)[len(done):]
        except ValueError as exc:
            return f"chat template error: {exc}"
        tail = self.tokens.rendered(rest)
        ids += tail
        labels += [IGNORE] * len(tail)
        if not any(label != IGNORE for label in labels):
            return "empty target"
        if ids[-1] != self.tokens.eos_id:
            ids.append(self.tokens.eos_id)
            labels.append(self.tokens.eos_id)
        if len(ids) > self.max_length:
            return "too long"
        return [{"input_ids": ids, "labels": labels}]
