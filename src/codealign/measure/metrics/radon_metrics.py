"""McCabe cyclomatic complexity and Halstead volume, from radon on the already-parsed tree."""

from __future__ import annotations

from typing import ClassVar

from codealign.measure.base import ItemMetric
from codealign.measure.data import Item


class Radon(ItemMetric):
    name = "radon"
    group = "complexity"
    version = 1
    description = (
        "radon: cyclomatic complexity of the most complex block (function, method or module body) and summed over "
        "all blocks; Halstead volume of the whole code"
    )
    directions: ClassVar[dict[str, str]] = {"cyclomatic": "higher", "cyclomatic_total": "higher", "halstead_volume": "higher"}
    headline = ("cyclomatic", "halstead_volume")

    def item(self, item: Item) -> dict[str, float | None]:
        from radon.metrics import h_visit_ast
        from radon.visitors import ComplexityVisitor

        tree = item.tree
        if tree is None:
            return {"cyclomatic": None, "cyclomatic_total": None, "halstead_volume": None}
        visitor = ComplexityVisitor.from_ast(tree)
        blocks = [b.complexity for b in visitor.functions + visitor.classes]
        module = visitor.complexity  # the statements outside any function
        return {
            "cyclomatic": float(max([module, *blocks])),
            "cyclomatic_total": float(visitor.total_complexity),
            "halstead_volume": float(h_visit_ast(tree).total.volume),
        }
