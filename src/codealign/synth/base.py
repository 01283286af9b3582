"""The method contract: a generation method is a list of LLM stages plus a way to turn a sample into a program.

A stage only formats requests and parses answers; the runner owns the backend, the cache, fan-out over samples and
the output records. The runner builds each output Record with `parents=(record.id,)` and provenance made by
`Method.provenance(stage, request)` (method, method version, model, prompt hash, sampling options).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from codealign.config import StrictModel
from codealign.llm.base import Request
from codealign.records import Record, content_hash
from codealign.sandbox.types import Program

Mode = Literal["completion", "chat"]


@dataclass
class ParseError:
    """A model answer that could not be parsed: a short reason (counted in the funnel) and the raw text (kept)."""

    reason: str
    raw: str


def prompt_hash(request: Request) -> str:
    """Hash of what the model is shown (prompt or messages), independent of the sampling options."""
    if request.prompt is not None:
        return content_hash({"prompt": request.prompt}, 16)
    return content_hash({"messages": [m.model_dump() for m in request.messages or ()]}, 16)


class LLMStage(ABC):
    """One LLM call per input record: `request()` formats it, `parse()` turns each sampled text into data fields."""

    name: ClassVar[str]
    input_kind: ClassVar[str]
    output_kind: ClassVar[str]

    @abstractmethod
    def request(self, record: Record, index: int) -> Request:
        """The request for the item at stable position `index` of this stage's input.

        The per-item seed is `options.seed + index`: it draws few-shot examples and properties, and is the
        request's sampling seed, so the same item always gets the same prompt.
        """

    @abstractmethod
    def parse(self, text: str, record: Record, index: int, sample_index: int) -> dict[str, Any] | ParseError:
        """The data fields of the output record for one sampled text, or a ParseError (never raises)."""

    def prompt_hash(self, request: Request) -> str:
        return prompt_hash(request)


class Method(ABC):
    """A generation method: typed options, a chat/completion mode, its stages in order, and sample -> program."""

    name: ClassVar[str]
    version: ClassVar[str]
    Options: ClassVar[type[StrictModel]]

    def __init__(self, options: StrictModel | dict[str, Any] | None = None, mode: Mode = "completion") -> None:
        if options is None:
            options = self.Options()
        elif isinstance(options, dict):
            from codealign.config import build

            options = build(self.Options, options, f"{self.name} options")
        elif not isinstance(options, self.Options):
            raise TypeError(f"{self.name} options must be {self.Options.__name__}, got {type(options).__name__}")
        if mode not in ("completion", "chat"):
            from codealign.errors import ConfigError

            raise ConfigError(f"mode must be 'completion' or 'chat', got {mode!r}")
        self.options = options
        self.mode: Mode = mode
        self.stages: list[LLMStage] = self.build_stages()

    @abstractmethod
    def build_stages(self) -> list[LLMStage]:
        """The method's LLM stages in the order they run; the first reads seeds, the last writes samples."""

    @abstractmethod
    def program(self, sample: Record) -> Program | ParseError:
        """The sample's code and tests as one sandbox program, or why it cannot be run (counted by selection)."""

    def stage(self, name: str) -> LLMStage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"{self.name} has no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    def provenance(self, stage: LLMStage, request: Request, model: str) -> dict[str, Any]:
        """What goes into an output record's provenance: enough to say exactly how it was made."""
        return {
            "method": self.name,
            "method_version": self.version,
            "stage": stage.name,
            "mode": self.mode,
            "model": model,
            "prompt_hash": stage.prompt_hash(request),
            "sampling": request.options.model_dump(mode="json"),
        }
