"""Code size and shape: lines of code, AST nodes and AST depth."""

from __future__ import annotations

import ast
from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item


def ast_size(tree: ast.AST) -> tuple[int, int]:
    """(node count, depth of the deepest node; the module is depth 1). Iterative: deep trees cannot overflow."""
    nodes, deepest, stack = 0, 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        nodes += 1
        if d > deepest:
            deepest = d
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return nodes, deepest


def lines_of_code(code: str, comments: tuple[str, ...] = ("#",)) -> int:
    """Non-blank lines that are not only a comment."""
    return sum(1 for line in code.splitlines() if line.strip() and not line.lstrip().startswith(comments))


class CodeSize(ItemMetric):
    name = "code_size"
    group = "complexity"
    version = 1
    description = "lines of code (non-blank, non-comment), AST node count and maximum AST depth of the response's code"
    directions: ClassVar[dict[str, str]] = {"loc": "higher", "ast_nodes": "higher", "ast_depth": "higher"}
    headline = ("loc", "ast_nodes")

    def item(self, item: Item) -> dict[str, float | None]:
        if item.language != "python":
            nodes, depth = _tree_sitter_size(item.code, item.language)
            return {"loc": float(lines_of_code(item.code, ("#", "//"))), "ast_nodes": nodes, "ast_depth": depth}
        tree = item.tree
        nodes, depth = (None, None) if tree is None else ast_size(tree)
        return {
            "loc": float(lines_of_code(item.code)),
            "ast_nodes": None if nodes is None else float(nodes),
            "ast_depth": None if depth is None else float(depth),
        }


def _tree_sitter_size(code: str, language: str) -> tuple[float | None, float | None]:
    """Named syntax-tree nodes and depth of code in another language (tree-sitter); None when not applicable."""
    from codealign.measure.metrics.syntax import tree_sitter_root

    root = tree_sitter_root(code, language) if code.strip() else None
    if root is None or root.has_error:
        return None, None
    nodes, deepest, stack = 0, 0, [(root, 1)]
    while stack:
        node, d = stack.pop()
        nodes += 1
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in node.named_children)
    return float(nodes), float(deepest)
