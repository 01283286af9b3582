from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record


class MaxLines(Filter):
    """At most `limit` lines (SelfCodeAlign: 150)."""

    name = "max_lines"
    applies_to = ("function",)

    def __init__(self, limit: int = 150) -> None:
        self.limit = limit

    def keep(self, record: Record) -> Verdict:
        n = self.text(record).rstrip("\n").count("\n") + 1
        return True if n <= self.limit else f"{n} lines > {self.limit}"
