"""LLM-judge quality: does the response correctly and completely solve the instruction, with sound tests?"""

from __future__ import annotations

from typing import ClassVar

from codealign.measure.judge import JudgeMetric


class LlmQuality(JudgeMetric):
    name = "llm_quality"
    group = "quality"
    version = 1
    description = "mean 1-10 quality score from an LLM judge (correctness, completeness, clarity) on the seeded sample"
    directions: ClassVar[dict[str, str]] = {"quality_score": "higher"}
    headline = ("quality_score",)
    key = "quality_score"
    rubric = (
        "You review programming exercises. Rate how good the response is as an answer to the instruction: is the "
        "code correct, complete and idiomatic, does it handle the cases the instruction names, is it explained "
        "clearly? 1 = wrong or unusable, 10 = a correct, complete, exemplary answer."
    )
