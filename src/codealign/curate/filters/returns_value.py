from __future__ import annotations

import ast

from codealign.curate.filters.base import Filter, Verdict, parse_function
from codealign.records import Record


def _own_returns(node: ast.AST) -> bool:
    """A `return <value>` in this function's own body; nested functions, classes and lambdas do not count."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.Return) and child.value is not None:
            return True
        if _own_returns(child):
            return True
    return False


class ReturnsValue(Filter):
    """The function has a `return` with a value, so its behaviour can be tested (SelfCodeAlign seed rule)."""

    name = "returns_value"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        node = parse_function(record)
        return node is not None and _own_returns(node)
