"""The method contract: a generation method is a list of LLM stages, each naming the record kinds it consumes and
produces, plus a way to turn a sample into a sandbox program.

Kinds, not positions. A stage declares `consumes` (one kind) and `produces` (one or more kinds, the main one
first). The runner feeds each stage the records of its input kind from whichever earlier stage produced them, and
everything downstream (execution, selection, measurement, reports) asks for a kind, never for "the last stage":

    seed         {"seed": text}                                   rows of the seeds file
    concepts     {"concepts": [str, ...]}
    instruction  {"instruction": text, + optional category, difficulty, language, concepts, round, evolution, ...}
    sample       {"response": raw text, "solution": text, "tests": text, "sample_index": int}
    execution    one sandbox outcome per sample (a row written by the runner's execute stage, see pipeline.steps)

A stage only formats requests and parses answers; the runner owns the backends, the cache, fan-out over samples,
shards, resume and the output records (each made with `parents=(input.id,)` and provenance from
`Method.provenance`). What a stage may be:

- one call per input record (`request` then `parse` of each of the request's samples): the common case;
- several records per call: `parse` returns an `Out` tree (OSS-Instruct: an instruction with its sample as child)
  or a list of `Out`s and `ParseError`s (Self-Instruct: several new tasks, some rejected one by one);
- multi-round (`rounds` > 1): after round r the runner asks `next_round(record, index, round, made)` what to feed
  round r + 1 for that item (Evol-Instruct: the evolved task, or the original again when the evolution was
  eliminated); every round's rejects keep their round number;
- answered by another model: `backend = "teacher"` sends the stage's requests to the run config's `teacher` block
  (distillation); the cache keys include the model, so the two never mix;
- sequential (`sequential = True`): shard s depends on the outputs of shards < s (Self-Instruct's growing task pool).
  The runner calls `start(read)` once before the first shard and `observe(records)` after every finished shard, in
  order, whether it was computed now or read back on resume, so a resumed run sees exactly the state an
  uninterrupted one saw. Executors must run such a stage's shards one after the other.

Adding a method is one module with a `Method` subclass plus one line in `codealign.registry.METHODS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from codealign.config import StrictModel
from codealign.llm.base import Request
from codealign.records import Record, content_hash
from codealign.sandbox.types import Program

Mode = Literal["completion", "chat"]
GENERATOR = "generator"  # the run config's `backend` block
TEACHER = "teacher"  # the run config's `teacher` block


@dataclass
class ParseError:
    """A model answer that could not be parsed: a short reason (counted in the funnel) and the raw text (kept)."""

    reason: str
    raw: str


@dataclass
class Out:
    """One output record of a parse: its kind and data; `children` are records made from it in the same call
    (their parent is this record, not the stage's input)."""

    kind: str
    data: dict[str, Any]
    children: tuple[Out, ...] = field(default_factory=tuple)


Parsed = dict[str, Any] | Out | ParseError | list[Out | ParseError]


def prompt_hash(request: Request) -> str:
    """Hash of what the model is shown (prompt or messages), independent of the sampling options."""
    if request.prompt is not None:
        return content_hash({"prompt": request.prompt}, 16)
    return content_hash({"messages": [m.model_dump() for m in request.messages or ()]}, 16)


class Stage(ABC):
    """What every stage declares: its name, the kind it consumes, the kinds it produces (main one first)."""

    name: ClassVar[str]
    consumes: ClassVar[str]
    produces: ClassVar[tuple[str, ...]]
    sequential: ClassVar[bool] = False

    def start(self, read: Callable[[str], Iterator[Record]]) -> None:
        """Called once before the first shard; `read(kind)` streams every record of a kind made before this stage."""
        return None

    def observe(self, records: list[Record]) -> None:
        """Sequential stages: the records of each finished shard, in shard order (resumed shards included)."""
        return None


class MapStage(Stage):
    """A stage without a model: each input record becomes records (or a ParseError with its reason)."""

    @abstractmethod
    def apply(self, record: Record, index: int) -> Parsed:
        """The output records made from `record`, or why none can be (never raises)."""


class LLMStage(Stage):
    """One LLM call per input record and round: `request()` formats it, `parse()` turns each sampled text into
    output records (a dict of fields is one record of `produces[0]`)."""

    backend: ClassVar[str] = GENERATOR
    rounds: int = 1

    @abstractmethod
    def request(self, record: Record, index: int, round: int = 0) -> Request:
        """The request for the item at stable position `index` of this stage's input, in round `round`.

        The per-item seed is `options.seed + index`: it draws few-shot examples and properties, and is the
        request's sampling seed, so the same item always gets the same prompt.
        """

    @abstractmethod
    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> Parsed:
        """The output records for one sampled text, or a ParseError (never raises)."""

    def next_round(self, record: Record, index: int, round: int, made: list[Record]) -> Record | None:
        """What round `round + 1` works on for this item, given what round `round` made from `record`; None: stop."""
        return None

    def prompt_hash(self, request: Request) -> str:
        return prompt_hash(request)


class Method(ABC):
    """A generation method: typed options, a chat/completion mode per backend, its stages in order, sample -> program.

    `modes` maps a backend role (`generator`, `teacher`) to how that backend is spoken to; `mode` is the
    generator's, and the default of every role not named.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    Options: ClassVar[type[StrictModel]]
    repair_templates: ClassVar[str] = "repair"  # the repair prompt: a templates file in synth/prompts/, or a path

    def __init__(
        self,
        options: StrictModel | dict[str, Any] | None = None,
        mode: Mode = "completion",
        modes: dict[str, Mode] | None = None,
    ) -> None:
        if options is None:
            options = self.Options()
        elif isinstance(options, dict):
            from codealign.config import build

            options = build(self.Options, options, f"{self.name} options")
        elif not isinstance(options, self.Options):
            raise TypeError(f"{self.name} options must be {self.Options.__name__}, got {type(options).__name__}")
        self.modes: dict[str, Mode] = {GENERATOR: mode, **(modes or {})}
        for value in self.modes.values():
            if value not in ("completion", "chat"):
                from codealign.errors import ConfigError

                raise ConfigError(f"mode must be 'completion' or 'chat', got {value!r}")
        self.options = options
        self.mode: Mode = self.modes[GENERATOR]
        self.stages: list[Stage] = self.build_stages()

    @abstractmethod
    def build_stages(self) -> list[Stage]:
        """The method's LLM stages in the order they run; the first consumes `seed` records."""

    def mode_of(self, role: str) -> Mode:
        return self.modes.get(role, self.mode)

    @property
    def roles(self) -> tuple[str, ...]:
        """The backend roles its stages use, generator first."""
        return tuple(dict.fromkeys([GENERATOR, *(s.backend for s in self.stages if isinstance(s, LLMStage))]))

    @property
    def executes(self) -> bool:
        """Whether its samples carry tests for the sandbox; a method that writes none is selected without running."""
        return True

    def program(self, sample: Record) -> Program | ParseError:
        """The sample's code and tests as one sandbox program, or why it cannot be run (counted by selection)."""
        from codealign.synth import code as codeutil

        data = sample.data
        reason = codeutil.format_reason(data)
        if reason:
            return ParseError(reason, data.get("response", ""))
        language = data.get("language") or "python"
        code, tests = codeutil.program_parts(data["solution"], data["tests"], language)
        return Program(id=sample.id, language=language, code=code, tests=tests)

    def repair_stage(self) -> LLMStage:
        """The stage that sends a failing sample back to the model with its tests and error (`repair.rounds`)."""
        from codealign.synth.repair import RepairStage

        return RepairStage(self, self.repair_templates)

    def stage(self, name: str) -> Any:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"{self.name} has no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    def provenance(self, stage: Stage, request: Request | None = None, model: str = "") -> dict[str, Any]:
        """What goes into an output record's provenance: enough to say exactly how it was made."""
        if not isinstance(stage, LLMStage) or request is None:
            return {"method": self.name, "method_version": self.version, "stage": stage.name}
        return {
            "method": self.name,
            "method_version": self.version,
            "stage": stage.name,
            "mode": self.mode_of(stage.backend),
            "model": model,
            "prompt_hash": stage.prompt_hash(request),
            "sampling": request.options.model_dump(mode="json"),
        }
