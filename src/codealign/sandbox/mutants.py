"""Cheap mutants of a Python solution: tests that pass on the solution and on every mutant check little.

Each mutant changes one thing: a comparison flipped (`<` to `>=`, `==` to `!=`, `in` to `not in`), an arithmetic or
boolean operator swapped (`+` and `-`, `*` and `/`, `and` and `or`), a constant changed (`n` to `n + 1`, `True` to
`False`), an `if` test negated, or a returned value replaced by None (an early, empty return). Mutants are drawn
round-robin over those kinds in an order seeded by the code itself, so the same code always gets the same mutants.
A mutant is killed when its tests do not pass; one that happens to behave like the original (an equivalent mutant)
survives whatever the tests do, so a kill rate below 1 is not always the tests' fault.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass

from codealign.records import content_hash

_COMPARE = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
_ARITH = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
}  # fmt: skip
_SYMBOL = {
    ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
    ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.And: "and", ast.Or: "or",
}  # fmt: skip
KINDS = ("comparison", "arithmetic", "constant", "condition", "return", "boolean")


@dataclass(frozen=True)
class Mutant:
    """One changed copy of the code, and what changed (`line 3: < -> >=`)."""

    code: str
    kind: str
    description: str


def _sites(tree: ast.Module) -> Iterator[tuple[str, int, ast.AST]]:
    """(kind, line, node) for every place a mutant could change, in source order."""
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE:
            yield "comparison", line, node
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
            yield "arithmetic", line, node
        elif isinstance(node, ast.BoolOp):
            yield "boolean", line, node
        elif isinstance(node, ast.Constant) and type(node.value) in (int, bool, float):
            yield "constant", line, node
        elif isinstance(node, (ast.If, ast.While)) and not isinstance(node.test, ast.Constant):
            yield "condition", line, node
        elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
            yield "return", line, node


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants, which no mutant should touch."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _apply(kind: str, node: ast.AST) -> str:
    """Change `node` in place; returns the description of the change."""
    if kind == "comparison":
        old = type(node.ops[0])  # type: ignore[attr-defined]
        node.ops[0] = _COMPARE[old]()  # type: ignore[attr-defined]
        return f"{_SYMBOL[old]} -> {_SYMBOL[_COMPARE[old]]}"
    if kind == "arithmetic":
        old = type(node.op)  # type: ignore[attr-defined]
        node.op = _ARITH[old]()  # type: ignore[attr-defined]
        return f"{_SYMBOL[old]} -> {_SYMBOL[_ARITH[old]]}"
    if kind == "boolean":
        old = type(node.op)  # type: ignore[attr-defined]
        node.op = ast.Or() if old is ast.And else ast.And()  # type: ignore[attr-defined]
        return f"{_SYMBOL[old]} -> {_SYMBOL[type(node.op)]}"  # type: ignore[attr-defined]
    if kind == "constant":
        value = node.value  # type: ignore[attr-defined]
        node.value = (not value) if isinstance(value, bool) else value + 1  # type: ignore[attr-defined]
        return f"{value!r} -> {node.value!r}"  # type: ignore[attr-defined]
    if kind == "condition":
        node.test = ast.UnaryOp(ast.Not(), node.test)  # type: ignore[attr-defined]
        return "condition negated"
    node.value = ast.Constant(None)  # type: ignore[attr-defined]
    return "returns None"


def mutants(code: str, limit: int) -> list[Mutant]:
    """Up to `limit` distinct mutants of `code` that compile; none when the code does not parse."""
    if limit <= 0:
        return []
    try:
        tree = ast.parse(code)
        original = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    skip = _docstrings(tree)
    by_kind: dict[str, list[int]] = {kind: [] for kind in KINDS}
    sites = [(kind, line) for kind, line, node in _sites(tree) if id(node) not in skip]
    for position, (kind, _) in enumerate(sites):
        by_kind[kind].append(position)
    rng = random.Random(content_hash(code, 16))
    for positions in by_kind.values():
        rng.shuffle(positions)
    kinds = [kind for kind in KINDS if by_kind[kind]]
    rng.shuffle(kinds)
    # Round-robin over the kinds, so four mutants are four different kinds of change when the code allows it.
    order = [by_kind[k][i] for i in range(max((len(v) for v in by_kind.values()), default=0)) for k in kinds if i < len(by_kind[k])]
    made: list[Mutant] = []
    seen = {original}
    for position in order:
        if len(made) >= limit:
            break
        copy = ast.parse(code)
        nodes = [node for _, _, node in _sites(copy) if id(node) not in _docstrings(copy)]
        kind, line = sites[position]
        description = _apply(kind, nodes[position])
        try:
            text = ast.unparse(ast.fix_missing_locations(copy))
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if text in seen:
            continue
        seen.add(text)
        made.append(Mutant(text, kind, f"line {line}: {description}"))
    return made
