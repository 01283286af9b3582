from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, facts
from codealign.records import Record


class DocstringFirst(Filter):
    """Documented first: a non-empty triple-quoted docstring as the first statement (Python, the SelfCodeAlign seed
    rule), or the language's doc comment right above the function (Javadoc, JSDoc, `///`, godoc `//`, `#`)."""

    name = "docstring_first"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        return facts(record).doc
