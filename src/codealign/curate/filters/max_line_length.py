from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record


class MaxLineLength(Filter):
    """No line longer than `limit` characters (StarCoder: 1000): minified or data files."""

    name = "max_line_length"
    applies_to = ("file",)

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit

    def keep(self, record: Record) -> Verdict:
        longest = max((len(line) for line in self.text(record).splitlines()), default=0)
        return True if longest <= self.limit else f"line of {longest} > {self.limit}"
