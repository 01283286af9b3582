"""The repair stage: a sample whose program failed goes back to the model with its tests and the error they raised,
and the answer replaces its code. The tests stay the sample's own: a repair that passes has fixed the code, not
weakened the checks.

The prompt is the method's repair template (package data, `prompts/repair.json` unless the method names another):
`system`, then `input` filled with the instruction, the failing response, its tests and the error; the model writes
the corrected response and stops at `</fixed_response>`.
"""

from __future__ import annotations

import re
from typing import Any

from codealign.llm.base import ChatMessage, Request, SamplingOptions
from codealign.records import Record
from codealign.synth import code as codeutil
from codealign.synth.base import LLMStage, ParseError
from codealign.synth.fewshot import item_seed, load_templates, render

_END = re.compile(r"</fixed_response>|</response>|^## Example\b", re.M)
MAX_ERROR_CHARS = 1500


def failure_text(outcome: Any) -> str:
    """What the model is told about a failed run: the outcome, the error with its failing line, the traceback's end."""
    head = outcome.status.value
    if outcome.error_type or outcome.error:
        head += f": {outcome.error_type or ''}{': ' if outcome.error_type and outcome.error else ''}{outcome.error or ''}"
    tail = (outcome.stderr or "").strip()
    if len(tail) > MAX_ERROR_CHARS:
        tail = "..." + tail[-MAX_ERROR_CHARS:]
    return f"{head}\n{tail}".strip()


class RepairStage(LLMStage):
    """sample (failed) -> sample (its corrected code, same tests). `request` takes the failing sample with the
    fields `instruction` and `error` added to its data."""

    name = "repair"
    consumes = "sample"
    produces = ("sample",)

    def __init__(self, method: Any, templates: str = "repair") -> None:
        self.method = method
        self.templates = load_templates(templates)

    def request(self, record: Record, index: int, round: int = 0) -> Request:
        gen = self.method.options
        data = record.data
        fields = {"instruction": data["instruction"], "solution": data["solution"], "tests": data["tests"], "error": data["error"]}
        item = render(self.templates["input"], fields)
        options = SamplingOptions(
            n=1, temperature=gen.temperature, top_p=gen.top_p, max_tokens=gen.max_tokens,
            stop=tuple(self.templates["stop"]), seed=item_seed(gen.seed, index, round + 1),
        )  # fmt: skip
        system = self.templates["system"]
        if self.method.mode_of(self.backend) == "chat":
            messages = (ChatMessage(role="system", content=system), ChatMessage(role="user", content=item))
            return Request(messages=messages, options=options)
        return Request(prompt=f"{system.strip()}\n\n{item}", options=options)

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        body = _END.split(text, maxsplit=1)[0].strip()
        body = re.sub(r"^\s*<fixed_response>\s*\n", "", body)
        language = record.data.get("language") or "python"
        if not codeutil.code_blocks(body, language):
            return ParseError("repair:no_code", text)
        before, _ = codeutil.program_parts(record.data["solution"], "", language)
        after, _ = codeutil.program_parts(body, "", language)
        if re.sub(r"\s+", "", before) == re.sub(r"\s+", "", after):
            return ParseError("repair:unchanged", text)
        repaired = {
            "response": text,
            "solution": body,
            "tests": record.data["tests"],
            "sample_index": record.data.get("sample_index", 0),
            "repair_round": round + 1,
        }
        if "language" in record.data:
            repaired["language"] = record.data["language"]
        return repaired
