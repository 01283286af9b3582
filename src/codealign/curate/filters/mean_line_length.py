from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record


class MeanLineLength(Filter):
    """Mean line length at most `limit` characters (StarCoder: 100)."""

    name = "mean_line_length"
    applies_to = ("file",)

    def __init__(self, limit: float = 100.0) -> None:
        self.limit = limit

    def keep(self, record: Record) -> Verdict:
        lines = self.text(record).splitlines()
        mean = sum(map(len, lines)) / len(lines) if lines else 0.0
        return True if mean <= self.limit else f"mean line {mean:.0f} > {self.limit:g}"
