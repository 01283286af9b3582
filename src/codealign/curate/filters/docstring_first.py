from __future__ import annotations

import ast

from codealign.curate.filters.base import Filter, Verdict, parse_function
from codealign.records import Record


class DocstringFirst(Filter):
    """The function's first statement is a non-empty triple-quoted docstring (SelfCodeAlign seed rule)."""

    name = "docstring_first"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        node = parse_function(record)
        if node is None or not node.body:
            return "no function"
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
            return False
        if not first.value.value.strip():
            return "empty docstring"
        segment = ast.get_source_segment(self.text(record), first.value) or ""
        if not segment.lstrip("rRuUbB").startswith(('"""', "'''")):
            return "docstring not triple-quoted"
        return True
