"""OSS-Instruct (Magicoder): a random run of 1 to 15 consecutive lines of a seed inspires a new, self-contained
problem, and the same call writes its solution.

One LLM stage, `problem`, consumes `seed` and produces an `instruction` (the problem) with its `sample` (the
solution) as child. Magicoder validated nothing; as in SelfCodeAlign's ablation, `tests: true` (the default) also
asks for a tests section so the solution goes through the sandbox and selection like every other method's.
Few-shot examples come from the SelfCodeAlign pool (its snippet, task, response and tests), because a base model
in completion mode needs them; Magicoder itself prompted a chat model zero-shot at temperature 0.
"""

from __future__ import annotations

import random
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field

from codealign.llm.base import Request
from codealign.records import Record
from codealign.synth import code as codeutil
from codealign.synth.base import Method, Out, ParseError, Stage
from codealign.synth.fewshot import FewShotStage, GenerationOptions, load_templates, prompt_set_hash
from codealign.synth.parse import _cut_next_example
from codealign.synth.selfcodealign import load_pool

_HEADING = re.compile(r"^\s*\[(problem description|solution|tests)\]\s*$", re.I | re.M)
MIN_PROBLEM_WORDS = 5


class OssInstructOptions(GenerationOptions):
    """Options of `oss-instruct`; Magicoder's defaults (greedy, up to 2,500 new tokens, 1 to 15 lines)."""

    temperature: float = Field(0.0, ge=0.0, le=5.0, description="Magicoder decoded greedily")
    max_tokens: int = Field(2500, ge=1, description="maximum new tokens per sample")
    min_lines: int = Field(1, ge=1, description="fewest consecutive seed lines in a snippet")
    max_lines: int = Field(15, ge=1, description="most consecutive seed lines in a snippet")
    shots: int = Field(2, ge=0, description="few-shot examples per prompt (from the SelfCodeAlign pool)")
    samples: int = Field(1, ge=1, description="problems (each with its solution) per snippet")
    tests: bool = Field(True, description="ask for tests too, so solutions are executed and selected")
    language: str = Field("python", description="language of the problems")
    pool: str | None = Field(None, description="a JSONL few-shot pool (snippet, instruction, response, tests)")


def draw_snippet(text: str, rng: random.Random, min_lines: int, max_lines: int) -> str:
    """A run of consecutive non-blank-ended lines: the length first, then where it starts."""
    lines = text.strip("\n").splitlines()
    if not lines:
        return ""
    length = rng.randint(min(min_lines, len(lines)), min(max_lines, len(lines)))
    start = rng.randint(0, len(lines) - length)
    return "\n".join(lines[start : start + length]).strip("\n")


def split_sections(text: str) -> dict[str, str]:
    """The `[Problem Description]`, `[Solution]` and `[Tests]` sections of an answer (the first one may be implied)."""
    body = _cut_next_example(text)
    parts = _HEADING.split(body)
    sections = {"problem description": parts[0]}
    for name, content in zip(parts[1::2], parts[2::2], strict=True):
        key = name.lower()
        if key in sections and sections[key].strip():
            sections.setdefault(f"extra {key}", content)
            continue
        sections[key] = content
    return {k: v.strip() for k, v in sections.items()}


def copies_problem_code(problem: str, solution: str) -> bool:
    """Magicoder's cleaning rule: the solution's code is a code block the problem already shows."""
    shown = {re.sub(r"\s+", "", b) for b in codeutil.code_blocks(problem) if b.strip()}
    return any(re.sub(r"\s+", "", b) in shown for b in codeutil.code_blocks(solution))


class ProblemStage(FewShotStage):
    name = "problem"
    consumes = "seed"
    produces = ("instruction", "sample")

    def __init__(self, method: OssInstruct) -> None:
        o = method.options
        self.key = "problem" if o.tests else "problem_without_tests"
        super().__init__(method, o.shots, o.samples, ("## Example",))

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        o = self.method.options
        return {"snippet": draw_snippet(str(record.data["seed"]), rng, o.min_lines, o.max_lines)}

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> Out | ParseError:
        sections = split_sections(text)
        problem = sections.get("problem description", "")
        solution = sections.get("solution", "")
        tests = sections.get("tests", "")
        if len(problem.split()) < MIN_PROBLEM_WORDS:
            return ParseError("no_problem", text)
        if not solution:
            return ParseError("no_solution", text)
        if self.method.options.tests and not tests:
            return ParseError("no_tests", text)
        if copies_problem_code(problem, solution):
            return ParseError("solution_copies_problem", text)
        snippet = self.item_fields(record, random.Random(self.gen.seed + index))["snippet"]
        # The sample index keeps two identical problems written for one snippet apart (selection drops the copy).
        instruction = {"instruction": problem, "language": self.method.options.language, "snippet": snippet,
                       "sample_index": sample_index}  # fmt: skip
        sample = {"response": text, "solution": solution, "tests": tests, "sample_index": sample_index}
        return Out("instruction", instruction, (Out("sample", sample),))


class OssInstruct(Method):
    name = "oss-instruct"
    version = "1.0"
    Options = OssInstructOptions

    @cached_property
    def templates(self) -> dict[str, Any]:
        return load_templates("oss_instruct")

    @cached_property
    def pool(self) -> list[dict[str, Any]]:
        return load_pool(Path(self.options.pool) if self.options.pool else None)

    @cached_property
    def prompt_set(self) -> str:
        return prompt_set_hash({"templates": self.templates, "pool": self.pool})

    @property
    def executes(self) -> bool:
        return self.options.tests

    def build_stages(self) -> list[Stage]:
        return [ProblemStage(self)]

    def provenance(self, stage: Stage, request: Request | None = None, model: str = "") -> dict[str, Any]:
        return {**super().provenance(stage, request, model), "prompt_set": self.prompt_set}
