from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, facts
from codealign.records import Record


class ReturnsValue(Filter):
    """The function returns a value, so its behaviour can be tested (SelfCodeAlign seed rule): a `return` with a
    value in its own body, a declared result type (Go, Rust), or printed output (shell)."""

    name = "returns_value"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        return facts(record).returns
