"""SelfCodeAlign: seed -> concepts (S->C) -> instruction (C->I) -> response with tests (I->R).

Every prompt is a short system paragraph, k `## Example i` blocks drawn from a hand-written few-shot pool, then the
current item for the model to complete (completion mode); chat mode sends the same content as messages. The item at
position `index` uses `random.Random(seed + index)` for its properties and examples and `seed + index` as its
sampling seed, so every prompt and every request is reproducible. Templates and pool are package data in prompts/.
"""

from __future__ import annotations

import random
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from codealign.llm.base import Request
from codealign.records import Record, content_hash
from codealign.synth import fewshot
from codealign.synth.base import Method, ParseError, Stage
from codealign.synth.fewshot import PROMPTS, FewShotStage, GenerationOptions
from codealign.synth.parse import parse_concepts, parse_instruction, split_response

POOL_FIELDS = ("snippet", "concepts", "category", "difficulty", "language", "instruction", "response", "tests")


class SelfCodeAlignOptions(GenerationOptions):
    """Options of the `selfcodealign` method; the defaults are the paper's."""

    concepts_shots: int = Field(8, ge=0, description="few-shot examples in S->C prompts")
    concepts_samples: int = Field(1, ge=1)
    instruction_shots: int = Field(8, ge=0, description="few-shot examples in C->I prompts")
    instruction_samples: int = Field(1, ge=1)
    response_shots: int = Field(1, ge=0, description="few-shot examples in I->R prompts")
    response_samples: int = Field(10, ge=1, description="responses (each with its own tests) per instruction")
    language: str = Field("python", description="language of the tasks, unless a seed names its own")
    languages: tuple[str, ...] | None = Field(
        None, min_length=1, description="drawn uniformly per task instead of `language` (a seed's own still wins)"
    )
    categories: tuple[str, ...] = Field(
        ("function", "function", "class", "program"), min_length=1, description="drawn uniformly per instruction"
    )
    difficulties: tuple[str, ...] = Field(("easy", "medium", "hard"), min_length=1)
    pool: str | None = Field(None, description="a JSONL few-shot pool to use instead of the built-in one")

    @field_validator("language", "languages")
    @classmethod
    def _sandbox_language(cls, value: Any) -> Any:
        """A language the sandbox knows (`rs` becomes `rust`), so a typo fails before any model call."""
        from codealign.registry import LANGUAGES

        names = [value] if isinstance(value, str) else list(value or ())
        for name in names:
            if name not in LANGUAGES:
                raise ValueError(f"unknown language {name!r}; known: {', '.join(LANGUAGES.names())}")
        canonical = [LANGUAGES.entry(n).name for n in names]
        return canonical[0] if isinstance(value, str) else (tuple(canonical) if value is not None else None)


def load_templates(path: Path | None = None) -> dict[str, Any]:
    return fewshot.load_templates(path or "selfcodealign")


def load_pool(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The few-shot examples; every one must have all of POOL_FIELDS."""
    return fewshot.load_pool(path or PROMPTS / "selfcodealign_pool.jsonl", POOL_FIELDS)


def same_language_first(pool: list[dict[str, Any]], language: str, k: int, rng: random.Random) -> list[dict[str, Any]]:
    """k examples, drawn from those in `language` first and topped up from the rest when it has fewer than k (with a
    pool of one language, exactly `rng.sample(pool, k)`)."""
    same = [e for e in pool if e.get("language", "python") == language]
    if len(same) >= k:
        return rng.sample(same, k)
    others = [e for e in pool if e.get("language", "python") != language]
    return rng.sample(same, len(same)) + rng.sample(others, min(k - len(same), len(others)))


class ConceptsStage(FewShotStage):
    name = "concepts"
    consumes = "seed"
    produces = ("concepts",)
    key = "concepts"

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {"snippet": str(record.data["seed"]).strip("\n")}

    def examples(self, record: Record, rng: random.Random) -> list[dict[str, Any]]:
        return same_language_first(self.pool, str(record.data.get("language") or "python"), self.shots, rng)

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        concepts = parse_concepts(text)
        if isinstance(concepts, ParseError):
            return concepts
        return {"concepts": concepts}


class InstructionStage(FewShotStage):
    name = "instruction"
    consumes = "concepts"
    produces = ("instruction",)
    key = "instruction"

    def properties(self, record: Record, rng: random.Random) -> dict[str, str]:
        opts = self.method.options
        category = rng.choice(opts.categories)
        difficulty = rng.choice(opts.difficulties)
        language = record.data.get("language")
        if not language:
            # Drawn only when there is a choice, so a one-language run draws what it always drew.
            language = rng.choice(opts.languages) if opts.languages and len(opts.languages) > 1 else (
                opts.languages[0] if opts.languages else opts.language)  # fmt: skip
        return {"category": category, "difficulty": difficulty, "language": str(language)}

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        props = self.properties(record, rng)
        self._drawn = (record.id, props["language"])  # request() asks for the examples right after the fields
        return {**props, "concepts": ", ".join(record.data["concepts"])}

    def examples(self, record: Record, rng: random.Random) -> list[dict[str, Any]]:
        drawn = getattr(self, "_drawn", None)
        language = drawn[1] if drawn and drawn[0] == record.id else str(record.data.get("language") or "python")
        return same_language_first(self.pool, language, self.shots, rng)

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        instruction = parse_instruction(text)
        if isinstance(instruction, ParseError):
            return instruction
        # Same generator, same draws as request(): the properties the prompt showed are the ones recorded.
        props = self.properties(record, random.Random(self.method.options.seed + index))
        return {"instruction": instruction, **props, "concepts": list(record.data["concepts"])}


class ResponseStage(FewShotStage):
    name = "response"
    consumes = "instruction"
    produces = ("sample",)
    key = "response"

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {"instruction": record.data["instruction"]}

    def examples(self, record: Record, rng: random.Random) -> list[dict[str, Any]]:
        return same_language_first(self.pool, str(record.data.get("language") or "python"), self.shots, rng)

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        split = split_response(text)
        if isinstance(split, ParseError):
            return split
        solution, tests = split
        out = {"response": text, "solution": solution, "tests": tests, "sample_index": sample_index}
        language = record.data.get("language")
        if language and language != "python":  # Python samples keep the layout (and ids) they always had
            out["language"] = language
        return out


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

    def build_stages(self) -> list[Stage]:
        o = self.options
        return [
            ConceptsStage(self, o.concepts_shots, o.concepts_samples, ("## Example",)),
            InstructionStage(self, o.instruction_shots, o.instruction_samples, ("## Example",)),
            ResponseStage(self, o.response_shots, o.response_samples, ("## Example", "</tests>")),
        ]

    def provenance(self, stage: Stage, request: Request | None = None, model: str = "") -> dict[str, Any]:
        return {**super().provenance(stage, request, model), "prompt_set": self.prompt_set}
