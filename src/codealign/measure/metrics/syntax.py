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
    description = ("share of records whose code parses (ast.parse, or tree-sitter for other languages; empty code counts as "
                   "invalid), and likewise their tests")
    directions: ClassVar[dict[str, str]] = {"syntax_valid": "higher", "tests_syntax_valid": "higher"}
    headline = ("syntax_valid",)
    rates = ("syntax_valid", "tests_syntax_valid")

    def item(self, item: Item) -> dict[str, float | None]:
        if item.language != "python":
            return {"syntax_valid": parses(item.code, item.language), "tests_syntax_valid":
                    parses(item.tests, item.language) if item.tests.strip() else None}  # fmt: skip
        tests_ok: float | None = None
        if item.tests.strip():
            try:
                ast.parse(item.tests)
                tests_ok = 1.0
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                tests_ok = 0.0
        return {"syntax_valid": float(item.tree is not None), "tests_syntax_valid": tests_ok}


def tree_sitter_root(code: str, language: str):  # noqa: ANN201 - a tree_sitter.Node, or None
    """The tree-sitter parse of `code` in another language; None without the `langs` extra (not applicable)."""
    from codealign.curate.syntax import syntax
    from codealign.errors import CodealignError

    try:
        lang = syntax(language)
        return lang.parse(code) if hasattr(lang, "parse") else None
    except CodealignError:
        return None


def parses(code: str, language: str) -> float | None:
    """1.0 or 0.0 for code in another language (tree-sitter found no error), None when that cannot be told."""
    if not code.strip():
        return 0.0
    root = tree_sitter_root(code, language)
    return None if root is None else float(not root.has_error)
