"""LLM-judge complexity: how much knowledge and reasoning the instruction demands."""

from __future__ import annotations

from typing import ClassVar

from codealign.measure.judge import JudgeMetric


class LlmComplexity(JudgeMetric):
    name = "llm_complexity"
    group = "complexity"
    version = 1
    description = "mean 1-10 complexity score from an LLM judge (knowledge and reasoning the task demands) on the seeded sample"
    directions: ClassVar[dict[str, str]] = {"complexity_score": "higher"}
    headline = ("complexity_score",)
    key = "complexity_score"
    rubric = (
        "You grade programming exercises by difficulty. Rate how complex the task in the instruction is: the "
        "knowledge, algorithms, reasoning steps and constraints a solver needs. 1 = trivial one-liner, "
        "10 = a hard problem for an expert."
    )
