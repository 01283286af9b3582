"""Syntax validity: does the response's code (and the tests) parse as Python?"""

from __future__ import annotations

import ast
from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item


class Syntax(ItemMetric):
    name = "syntax"
    group = "quality"
    version = 1
    description = "share of records whose code parses (ast.parse; empty code counts as invalid), and likewise their tests"
    directions: ClassVar[dict[str, str]] = {"syntax_valid": "higher", "tests_syntax_valid": "higher"}
    headline = ("syntax_valid",)
    rates = ("syntax_valid", "tests_syntax_valid")

    def item(self, item: Item) -> dict[str, float | None]:
        tests_ok: float | None = None
        if item.tests.strip():
            try:
                ast.parse(item.tests)
                tests_ok = 1.0
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                tests_ok = 0.0
        return {"syntax_valid": float(item.tree is not None), "tests_syntax_valid": tests_ok}
