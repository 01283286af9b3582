"""SelfCodeAlign: seed -> concepts (S->C) -> instruction (C->I) -> response with tests (I->R).

Every prompt is a short system paragraph, k `## Example i` blocks drawn from a hand-written few-shot pool, then the
current item for the model to complete (completion mode); chat mode sends the same content as messages. The item at
position `index` uses `random.Random(seed + index)` for its properties and examples and `seed + index` as its
sampling seed, so every prompt and every request is reproducible. Templates and pool are package data in prompts/.
"""

from __future__ import annotations

import json
import random
from abc import abstractmethod
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from codealign.config import StrictModel
from codealign.errors import ConfigError
from codealign.llm.base import ChatMessage, Request, SamplingOptions
from codealign.records import Record, content_hash, iter_jsonl
from codealign.sandbox.types import Program
from codealign.synth import code as codeutil
from codealign.synth.base import LLMStage, Method, ParseError
from codealign.synth.parse import parse_concepts, parse_instruction, split_response

PROMPTS = Path(__file__).parent / "prompts"
POOL_FIELDS = ("snippet", "concepts", "category", "difficulty", "language", "instruction", "response", "tests")


class SelfCodeAlignOptions(StrictModel):
    """Options of the `selfcodealign` method; the defaults are the paper's."""

    seed: int = Field(3407, description="base seed; the item at position i uses seed + i")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(1536, ge=1, description="maximum new tokens per sample")
    concepts_shots: int = Field(8, ge=0, description="few-shot examples in S->C prompts")
    concepts_samples: int = Field(1, ge=1)
    instruction_shots: int = Field(8, ge=0, description="few-shot examples in C->I prompts")
    instruction_samples: int = Field(1, ge=1)
    response_shots: int = Field(1, ge=0, description="few-shot examples in I->R prompts")
    response_samples: int = Field(10, ge=1, description="responses (each with its own tests) per instruction")
    language: str = Field("python", description="language of the tasks, unless a seed names its own")
    categories: tuple[str, ...] = Field(
        ("function", "function", "class", "program"), min_length=1, description="drawn uniformly per instruction"
    )
    difficulties: tuple[str, ...] = Field(("easy", "medium", "hard"), min_length=1)
    pool: str | None = Field(None, description="a JSONL few-shot pool to use instead of the built-in one")


def load_templates(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or PROMPTS / "selfcodealign.json").read_text(encoding="utf-8"))


def load_pool(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The few-shot examples; every one must have all of POOL_FIELDS."""
    source = Path(path) if path else PROMPTS / "selfcodealign_pool.jsonl"
    pool = list(iter_jsonl(source))
    for i, example in enumerate(pool, 1):
        missing = [f for f in POOL_FIELDS if not example.get(f)]
        if missing:
            raise ConfigError(f"{source}: example {i} lacks {', '.join(missing)}")
    if not pool:
        raise ConfigError(f"{source}: the few-shot pool is empty")
    return pool


def _example_fields(example: dict[str, Any]) -> dict[str, Any]:
    fields = dict(example)
    fields["concepts"] = ", ".join(example["concepts"])
    return fields


class _FewShotStage(LLMStage):
    key: ClassVar[str]  # the stage's section in the templates file

    def __init__(self, method: SelfCodeAlign, shots: int, samples: int, stop: tuple[str, ...]) -> None:
        self.method = method
        self.shots = shots
        self.samples = samples
        self.stop = stop
        self.template = method.templates["stages"][self.key]

    @abstractmethod
    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        """The template fields of the current item; may draw from `rng` (always before the examples are drawn)."""

    def sampling(self, index: int) -> SamplingOptions:
        opts = self.method.options
        return SamplingOptions(
            n=self.samples,
            temperature=opts.temperature,
            top_p=opts.top_p,
            max_tokens=opts.max_tokens,
            stop=self.stop,
            seed=opts.seed + index,
        )

    def request(self, record: Record, index: int) -> Request:
        rng = random.Random(self.method.options.seed + index)
        fields = self.item_fields(record, rng)
        pool = self.method.pool
        examples = rng.sample(pool, min(self.shots, len(pool)))
        system = self.template["system"]
        item = self.template["input"].format(**fields)
        options = self.sampling(index)
        if self.method.mode == "chat":
            messages = [ChatMessage(role="system", content=system)]
            for example in examples:
                ex = _example_fields(example)
                messages.append(ChatMessage(role="user", content=self.template["input"].format(**ex)))
                messages.append(ChatMessage(role="assistant", content=self.template["output"].format(**ex)))
            messages.append(ChatMessage(role="user", content=item))
            return Request(messages=tuple(messages), options=options)
        heading = self.method.templates["example_heading"]
        parts = [system.strip() + "\n\n"]
        for number, example in enumerate(examples, 1):
            ex = _example_fields(example)
            parts.append(heading.format(number=number) + self.template["input"].format(**ex))
            parts.append(self.template["output"].format(**ex) + "\n")
        parts.append(heading.format(number=len(examples) + 1) + item)
        return Request(prompt="".join(parts), options=options)


class ConceptsStage(_FewShotStage):
    name = "concepts"
    input_kind = "seed"
    output_kind = "concepts"
    key = "concepts"

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {"snippet": str(record.data["seed"]).strip("\n")}

    def parse(self, text: str, record: Record, index: int, sample_index: int) -> dict[str, Any] | ParseError:
        concepts = parse_concepts(text)
        if isinstance(concepts, ParseError):
            return concepts
        return {"concepts": concepts}


class InstructionStage(_FewShotStage):
    name = "instruction"
    input_kind = "concepts"
    output_kind = "instruction"
    key = "instruction"

    def properties(self, record: Record, rng: random.Random) -> dict[str, str]:
        opts = self.method.options
        category = rng.choice(opts.categories)
        difficulty = rng.choice(opts.difficulties)
        language = str(record.data.get("language") or opts.language)
        return {"category": category, "difficulty": difficulty, "language": language}

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {**self.properties(record, rng), "concepts": ", ".join(record.data["concepts"])}

    def parse(self, text: str, record: Record, index: int, sample_index: int) -> dict[str, Any] | ParseError:
        instruction = parse_instruction(text)
        if isinstance(instruction, ParseError):
            return instruction
        # Same generator, same draws as request(): the properties the prompt showed are the ones recorded.
        props = self.properties(record, random.Random(self.method.options.seed + index))
        return {"instruction": instruction, **props, "concepts": list(record.data["concepts"])}


class ResponseStage(_FewShotStage):
    name = "response"
    input_kind = "instruction"
    output_kind = "sample"
    key = "response"

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {"instruction": record.data["instruction"]}

    def parse(self, text: str, record: Record, index: int, sample_index: int) -> dict[str, Any] | ParseError:
        split = split_response(text)
        if isinstance(split, ParseError):
            return split
        solution, tests = split
        return {"response": text, "solution": solution, "tests": tests, "sample_index": sample_index}


class SelfCodeAlign(Method):
    name = "selfcodealign"
    version = "1.0"
    Options = SelfCodeAlignOptions

    @cached_property
    def templates(self) -> dict[str, Any]:
        return load_templates()

    @cached_property
    def pool(self) -> list[dict[str, Any]]:
        return load_pool(self.options.pool)

    @cached_property
    def prompt_set(self) -> str:
        """Hash of the templates and the few-shot pool: changes whenever any prompt could change."""
        return content_hash({"templates": self.templates, "pool": self.pool}, 16)

    def build_stages(self) -> list[LLMStage]:
        o = self.options
        return [
            ConceptsStage(self, o.concepts_shots, o.concepts_samples, ("## Example",)),
            InstructionStage(self, o.instruction_shots, o.instruction_samples, ("## Example",)),
            ResponseStage(self, o.response_shots, o.response_samples, ("## Example", "</tests>")),
        ]

    def provenance(self, stage: LLMStage, request: Request, model: str) -> dict[str, Any]:
        return {**super().provenance(stage, request, model), "prompt_set": self.prompt_set}

    def program(self, sample: Record) -> Program | ParseError:
        from codealign.select import format_reason

        data = sample.data
        reason = format_reason(data)
        if reason:
            return ParseError(reason, data.get("response", ""))
        code, tests = codeutil.program_parts(data["solution"], data["tests"])
        return Program(id=sample.id, language="python", code=code, tests=tests)
