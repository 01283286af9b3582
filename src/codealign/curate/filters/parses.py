from __future__ import annotations

import ast

from codealign.curate.filters.base import Filter, Verdict, parse_function
from codealign.records import Record


class Parses(Filter):
    """The code parses on its own (a function cut out of a file must still be valid Python)."""

    name = "parses"

    def keep(self, record: Record) -> Verdict:
        if record.kind == "function":
            return parse_function(record) is not None or "syntax error"
        try:
            ast.parse(self.text(record))
        except (SyntaxError, ValueError) as exc:
            return f"syntax error: {getattr(exc, 'msg', exc)}"
        return True
