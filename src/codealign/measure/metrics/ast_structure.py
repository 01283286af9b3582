"""Structural diversity of the code: AST node-type entropy, and the distinct APIs called and modules imported."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from codealign.measure.base import ChunkMetric, Context, MetricResult, entropy_bits
from codealign.measure.data import Item

TOP = 30  # categories kept for plots


def call_name(node: ast.Call) -> str | None:
    """`f`, `mod.f` or `obj.method` for a call; attribute chains on other expressions give `.method`."""
    parts: list[str] = []
    fn: Any = node.func
    while isinstance(fn, ast.Attribute):
        parts.append(fn.attr)
        fn = fn.value
    if isinstance(fn, ast.Name):
        parts.append(fn.id)
    elif parts:
        parts.append("")
    else:
        return None
    return ".".join(reversed(parts))


def structure(tree: ast.AST) -> tuple[Counter, set[str], set[str]]:
    """(node-type counts, called names, imported top-level modules) of one tree."""
    types: Counter = Counter()
    calls: set[str] = set()
    imports: set[str] = set()
    for node in ast.walk(tree):
        types[type(node).__name__] += 1
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name:
                calls.add(name)
        elif isinstance(node, ast.Import):
            imports.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.add(node.module.split(".")[0])
    return types, calls, imports


class AstStructure(ChunkMetric):
    name = "ast_structure"
    group = "diversity"
    version = 1
    description = (
        "Shannon entropy (bits) of AST node types over all code; number of distinct called names (f, mod.f, "
        ".method) and imported top-level modules: coverage of what the code does, which lexical figures miss"
    )
    directions: ClassVar[dict[str, str]] = {
        "node_type_entropy": "higher",
        "distinct_node_types": "higher",
        "distinct_calls": "higher",
        "distinct_imports": "higher",
    }
    headline = ("node_type_entropy", "distinct_calls")

    def begin(self, ctx: Context) -> None:
        self._types: Counter = Counter()
        self._calls: Counter = Counter()
        self._imports: Counter = Counter()

    def partial(self, chunk: Sequence[Item], start: int, ctx: Context) -> tuple[Counter, Counter, Counter]:
        types: Counter = Counter()
        calls: Counter = Counter()
        imports: Counter = Counter()
        for it in chunk:
            if it.tree is None:
                continue
            t, c, i = structure(it.tree)
            types.update(t)
            calls.update(c)  # counted once per record: how many records use the API
            imports.update(i)
        return types, calls, imports

    def add(self, start: int, partial: tuple[Counter, Counter, Counter]) -> None:
        self._types.update(partial[0])
        self._calls.update(partial[1])
        self._imports.update(partial[2])

    def finish(self, ctx: Context) -> MetricResult:
        res = self.result()
        res.values["node_type_entropy"] = entropy_bits(list(self._types.values()))
        res.values["distinct_node_types"] = len(self._types)
        res.values["distinct_calls"] = len(self._calls)
        res.values["distinct_imports"] = len(self._imports)
        res.counts["node_types"] = dict(self._types.most_common(TOP))
        res.counts["calls (records using each)"] = dict(self._calls.most_common(TOP))
        if self._imports:
            res.counts["imports (records using each)"] = dict(self._imports.most_common(TOP))
        return res
