from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, parse_function
from codealign.records import Record


class HasArguments(Filter):
    """The function takes at least one argument (SelfCodeAlign drops `def f():`)."""

    name = "has_arguments"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        node = parse_function(record)
        if node is None:
            return False
        a = node.args
        return bool(a.posonlyargs or a.args or a.vararg or a.kwonlyargs or a.kwarg)
