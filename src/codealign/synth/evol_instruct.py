"""Evol-Instruct (WizardCoder): tasks made harder step by step, M rounds, failed evolutions eliminated.

Stages: `tasks` (each seed read as a task, see `synth.tasks`: a seed function's signature and docstring, or a
Code Alpaca-style instruction given with `seeds.field: instruction`, or another run's final data), `evolve` (a
multi-round LLM stage) and `response` (SelfCodeAlign's I->R, with tests unless `tests: false`).

Each round rewrites every task with one of WizardCoder's five code evolutions, drawn per item and round: add a
constraint, replace a common requirement with a rarer one, more reasoning steps, an erroneous code reference,
tighter time or space bounds. An evolution is eliminated, and kept in the rejects with its round and reason, when

  copies_evolving_prompt  it repeats the evolving prompt's own words ("harder task", "given prompt", a heading)
  not_a_task              it stopped being a task: the model answered it (an opener such as "Here is", or code
                          with hardly any prose around it)
  no_information_gain     it adds fewer than `min_new_words` words that the task did not already have (the paper
                          asks a model whether the two are equal; this is its deterministic stand-in)

and the task goes back into the next round as it was (WizardLM's "return to the pool"). Every successful evolution
of every round is an output instruction. At the response stage a response is eliminated when the model
struggles ("sorry" in fewer than 80 words: `model_struggles`) or writes only punctuation and stop words
(`stop_words_only`), the paper's second and third criteria.
"""

from __future__ import annotations

import random
import re
from functools import cached_property
from typing import Any

from pydantic import Field, field_validator

from codealign.llm.base import Request
from codealign.records import Record
from codealign.synth import code as codeutil
from codealign.synth.base import Method, ParseError, Stage
from codealign.synth.fewshot import (
    PROMPTS,
    FewShotStage,
    GenerationOptions,
    item_seed,
    load_pool,
    load_templates,
    prompt_set_hash,
)
from codealign.synth.parse import parse_instruction
from codealign.synth.respond import PlainResponseStage, prompt_parts, response_stage
from codealign.synth.rouge import tokenize
from codealign.synth.selfcodealign import ResponseStage
from codealign.synth.tasks import SeedTasks

METHODS = ("constraints", "replace_requirement", "more_reasoning", "erroneous_code", "complexity")
POOL_FIELDS = ("task", "method", "evolved")
# Words of the evolving prompt itself; an evolution that repeats them copied the prompt instead of rewriting.
PROMPT_WORDS = re.compile(
    r"#\s*(?:given|rewritten) prompt\s*#|\b(?:given|rewritten) (?:prompt|task)\b|\bharder task\b|^\s*###\s*(?:task|method)\b"
    r"|\bthe method given\b",
    re.I | re.M,
)
ANSWER_OPENERS = re.compile(r"^\s*(?:here(?:'s| is| are)\b|sure\b|certainly\b|of course\b|solution\s*:|answer\s*:|```)", re.I)
MIN_PROSE_WORDS = 5
_STOP_WORDS = (
    "a an the and or but if of to in on at by for with from as is are was were be been it its this that these those "
    "i you he she we they me my your our their not no yes so do does did can could will would should"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())


class EvolInstructOptions(GenerationOptions):
    """Options of `evol-instruct`; WizardLM's 4 rounds, WizardCoder's five code evolutions."""

    rounds: int = Field(4, ge=1, le=20, description="evolution rounds (M)")
    evolutions: tuple[str, ...] = Field(METHODS, min_length=1, description="the evolutions drawn from, uniformly")
    shots: int = Field(3, ge=0, description="few-shot evolution examples per prompt")
    min_new_words: int = Field(3, ge=0, description="an evolution adding fewer new words is eliminated")
    response_shots: int = Field(1, ge=0, description="few-shot examples in I->R prompts")
    response_samples: int = Field(10, ge=1, description="responses per instruction")
    tests: bool = Field(True, description="responses end with tests, so they are executed and selected")
    language: str = Field("python", description="language of the tasks")
    pool: str | None = Field(None, description="a JSONL pool of evolution examples (task, method, evolved)")

    @field_validator("evolutions")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in METHODS]
        if unknown:
            raise ValueError(f"unknown evolution {unknown[0]!r}; known: {', '.join(METHODS)}")
        return value


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^[ \t]*```.*?(?:^[ \t]*```[ \t]*$|\Z)", " ", text, flags=re.S | re.M)


def elimination_reason(original: str, evolved: str, min_new_words: int = 3) -> str | None:
    """Why an evolution of `original` into `evolved` failed, or None when it is a real, harder task."""
    if PROMPT_WORDS.search(evolved):
        return "copies_evolving_prompt"
    prose = _prose(evolved)
    if ANSWER_OPENERS.match(evolved) or len(prose.split()) < MIN_PROSE_WORDS:
        return "not_a_task"
    first = next((line for line in evolved.splitlines() if line.strip()), "")
    if re.match(r"\s*(?:def|class|import|from)\s+\w", first):
        return "not_a_task"
    new_words = set(tokenize(evolved)) - set(tokenize(original))
    if len(new_words) < min_new_words:
        return "no_information_gain"
    return None


def struggle_reason(response: str) -> str | None:
    """The paper's response-side criteria: the model apologises in a short answer, or says nothing."""
    words = tokenize(response)
    if "sorry" in words and len(response.split()) < 80:
        return "model_struggles"
    if not [w for w in words if w not in STOP_WORDS]:
        return "stop_words_only"
    return None


class EvolveStage(FewShotStage):
    name = "evolve"
    consumes = "instruction"
    produces = ("instruction",)
    key = "evolve"

    def __init__(self, method: EvolInstruct) -> None:
        super().__init__(method, method.options.shots, 1, ("## Example",))
        self.rounds = method.options.rounds

    def evolution(self, rng: random.Random) -> str:
        return rng.choice(self.method.options.evolutions)

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        key = self.evolution(rng)
        return {"task": record.data["instruction"], "method": self.templates["methods"][key], "evolution": key}

    def example_fields(self, example: dict[str, Any]) -> dict[str, Any]:
        return {**example, "method": self.templates["methods"][example["method"]]}

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        body = re.sub(r"^\s*(?:###\s*)?harder task\s*:?\s*\n", "", text, flags=re.I)
        evolved = parse_instruction(body)
        if isinstance(evolved, ParseError):
            return ParseError(evolved.reason, text)
        reason = elimination_reason(record.data["instruction"], evolved, self.method.options.min_new_words)
        if reason:
            return ParseError(reason, text)
        key = self.evolution(random.Random(item_seed(self.gen.seed, index, round)))
        return {"instruction": evolved, "language": record.data.get("language"), "round": round + 1, "evolution": key}

    def next_round(self, record: Record, index: int, round: int, made: list[Record]) -> Record | None:
        # A failed evolution returns the task to the pool: the next round tries it again with a new draw.
        return made[0] if made else record


class _Eliminating:
    """Response-side elimination before the usual parse."""

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> Any:
        solution = text.split("</response>", 1)[0]
        reason = struggle_reason(_prose(solution)) if not codeutil.code_blocks(solution) else None
        if reason:
            return ParseError(reason, text)
        return super().parse(text, record, index, sample_index, round)  # type: ignore[misc]


class EvolResponseStage(_Eliminating, ResponseStage):
    pass


class EvolPlainResponseStage(_Eliminating, PlainResponseStage):
    pass


class EvolInstruct(Method):
    name = "evol-instruct"
    version = "1.0"
    Options = EvolInstructOptions

    @cached_property
    def templates(self) -> dict[str, Any]:
        return load_templates("evol_instruct")

    @cached_property
    def pool(self) -> list[dict[str, Any]]:
        pool = load_pool(self.options.pool or PROMPTS / "evol_instruct_pool.jsonl", POOL_FIELDS)
        return [ex for ex in pool if ex["method"] in self.options.evolutions] or pool

    @cached_property
    def prompt_set(self) -> str:
        return prompt_set_hash(
            {"templates": self.templates, "pool": self.pool, "response": prompt_parts(self.options.tests)}
        )

    @property
    def executes(self) -> bool:
        return self.options.tests

    def build_stages(self) -> list[Stage]:
        o = self.options
        classes = (EvolResponseStage, EvolPlainResponseStage)
        respond = response_stage(self, o, o.response_shots, o.response_samples, o.tests, classes)
        return [SeedTasks(o.language), EvolveStage(self), respond]

    def provenance(self, stage: Stage, request: Request | None = None, model: str = "") -> dict[str, Any]:
        return {**super().provenance(stage, request, model), "prompt_set": self.prompt_set}
