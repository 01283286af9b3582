"""Format validity: an example has an instruction, a response with code that parses, no placeholder, and tests."""

from __future__ import annotations

import re
from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item

# Code a model leaves for the reader to write is not a solution.
PLACEHOLDER = re.compile(
    r"your code here|implement (?:this|me)|^\s*\.\.\.\s*$|raise NotImplementedError|#\s*(?:todo|fixme)\b",
    re.I | re.M,
)
PROBLEMS = ("empty_instruction", "empty_response", "no_code", "unparsable_code", "placeholder", "missing_tests")


class Format(ItemMetric):
    name = "format"
    group = "quality"
    version = 1
    description = (
        "share of examples with a non-empty instruction and response, code that parses, no placeholder code "
        "('your code here', '...', NotImplementedError, TODO) and, when the dataset has tests, non-empty tests"
    )
    directions: ClassVar[dict[str, str]] = {"format_valid": "higher", **{p: "lower" for p in PROBLEMS}}
    headline = ("format_valid",)
    rates = ("format_valid", *PROBLEMS)

    def item(self, item: Item) -> dict[str, float | None]:
        has_code = bool(item.code.strip())
        problems = {
            "empty_instruction": not item.instruction.strip(),
            "empty_response": not item.response.strip(),
            "no_code": not has_code,
            "unparsable_code": has_code and item.tree is None,
            "placeholder": bool(PLACEHOLDER.search(item.code)),
            "missing_tests": self.ctx.fields.get("tests") is not None and not item.tests.strip(),
        }
        out: dict[str, float | None] = {k: float(v) for k, v in problems.items()}
        out["format_valid"] = float(not any(problems.values()))
        return out
