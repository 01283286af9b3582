"""The instruction format: a prompt template for base models, loss on the response only (SelfCodeAlign's layout).

A template is text with `{instruction}` and, at its very end, `{response}`; everything before `{response}` is the
prompt. `selfcodealign` (package data, `codealign/train/templates/`) is the layout StarCoder2-Instruct was trained
with. As SelfCodeAlign does, the prompt is encoded on its own (with the tokenizer's BOS) and the response on its own
with EOS appended, so the model learns the response exactly as it will continue a prompt it is given, and learns
to stop. The trained model is saved with a chat template that renders the same prompt from chat messages.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError
from codealign.train.formats.base import Format, as_text

INSTRUCTION, RESPONSE = "{instruction}", "{response}"


def load_template(name: str) -> str:
    """A shipped template by name, or a text file by path; it must hold {instruction} once and end with {response}."""
    shipped = resources.files("codealign.train") / "templates" / f"{name}.txt"
    if shipped.is_file():
        text = shipped.read_text(encoding="utf-8")
    elif Path(name).is_file():
        text = Path(name).read_text(encoding="utf-8")
    else:
        known = sorted(p.name[:-4] for p in (resources.files("codealign.train") / "templates").iterdir() if p.name.endswith(".txt"))
        raise ConfigError(f"template not found: {name!r} (a file path, or one of: {', '.join(known)})")
    if text.count(INSTRUCTION) != 1 or not text.endswith(RESPONSE) or text.count(RESPONSE) != 1:
        raise ConfigError(f"template {name!r} must contain {INSTRUCTION} once and end with {RESPONSE}")
    return text


def _jinja_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class InstructionFormat(Format):
    name = "instruction"
    fields = {
        "instruction": ("instruction", "prompt", "question", "query"),
        "response": ("response", "completion", "output", "answer", "solution"),
    }
    loss = "the response and EOS; the prompt is masked"

    def __init__(self, config: Any, tokenizer: Any) -> None:
        super().__init__(config, tokenizer)
        text = load_template(config.template)
        self.head, rest = text.split(INSTRUCTION)
        self.middle = rest[: -len(RESPONSE)]

    def prompt_text(self, instruction: str) -> str:
        return f"{self.head}{instruction}{self.middle}"

    def prompt_ids(self, prompt: Any) -> list[int]:
        if not isinstance(prompt, str):
            raise ConfigError("the instruction format needs the DPO prompt as text (messages need format: chat)")
        return self.tokens.start(self.prompt_text(prompt))

    def answer_ids(self, prompt: Any, answer: str) -> list[int]:
        return [*self.tokens.text(answer), self.tokens.eos_id]

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        instruction, response = as_text(item.get("instruction")), as_text(item.get("response"))
        if instruction is None or response is None:
            return "instruction or response is not text"
        if not response.strip():
            return "empty response"
        return self.supervised(self.prompt_ids(instruction), self.answer_ids(instruction, response))

    def chat_template(self) -> str:
        """Renders [user, assistant, ...] messages as the template did; a generation prompt is the template's prompt."""
        # The tokens the tokenizer opened the training prompt with (BOS), as text the template writes once.
        prefix = "".join(self.tokens.tok.convert_ids_to_tokens(self.tokens.prefix))
        bos = f"{{{{ {_jinja_string(prefix)} }}}}" if prefix else ""
        return (
            f"{bos}{{% for message in messages %}}"
            "{% if message['role'] == 'user' %}"
            f"{{{{ {_jinja_string(self.head)} + message['content'] + {_jinja_string(self.middle)} }}}}"
            "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
            "{% else %}{{ raise_exception('this model was trained on user and assistant turns only') }}"
            "{% endif %}{% endfor %}"
        )
