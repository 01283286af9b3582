from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, facts, language_of
from codealign.records import Record


class Parses(Filter):
    """The code parses on its own (a function cut out of a file must still be valid in its language)."""

    name = "parses"

    def keep(self, record: Record) -> Verdict:
        if record.kind == "function":
            return facts(record).parses
        from codealign.curate.syntax import syntax

        found = syntax(language_of(record)).functions(self.text(record))
        if isinstance(found, SyntaxError):
            return f"syntax error: {found.msg}"
        return True
