from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, facts
from codealign.records import Record


class HasArguments(Filter):
    """The function takes at least one argument (SelfCodeAlign drops `def f():`; a shell function reads `$1`...)."""

    name = "has_arguments"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        return facts(record).arguments
