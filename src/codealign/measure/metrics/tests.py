"""Tests per example and the share of examples whose tests are trivial (no assertion, or none that can fail)."""

from __future__ import annotations

import ast
import re
from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item

_ASSERT_WORD = re.compile(r"\bassert")


def _trivial(test: ast.expr) -> bool:
    """An assertion that cannot fail whatever the code does: only constants, or the same expression on both sides."""
    if not any(isinstance(n, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) for n in ast.walk(test)):
        return True
    if isinstance(test, ast.Compare) and len(test.comparators) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        return ast.dump(test.left) == ast.dump(test.comparators[0])
    return False


def count_assertions(tests: str) -> tuple[int, int]:
    """(assertions, trivial assertions): `assert` statements plus assert*-named calls (unittest, numpy.testing)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return len(_ASSERT_WORD.findall(tests)), 0
    total = trivial = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            total += 1
            trivial += _trivial(node.test)
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name.lower().startswith("assert"):
                total += 1
    return total, trivial


class Tests(ItemMetric):
    name = "tests"
    group = "quality"
    version = 1
    description = (
        "assertions per example (assert statements and assert*() calls) and the share of examples whose tests are "
        "trivial: no assertion, or only ones that cannot fail (constants, or x == x)"
    )
    directions: ClassVar[dict[str, str]] = {"tests_per_example": "higher", "trivial_tests": "lower", "has_tests": "higher"}
    headline = ("tests_per_example", "trivial_tests")
    rates = ("trivial_tests", "has_tests")
    needs = ("tests",)

    def item(self, item: Item) -> dict[str, float | None]:
        if not item.tests.strip():
            return {"tests_per_example": 0.0, "trivial_tests": 1.0, "has_tests": 0.0}
        total, trivial = count_assertions(item.tests)
        return {"tests_per_example": float(total), "trivial_tests": float(total == trivial), "has_tests": 1.0}
