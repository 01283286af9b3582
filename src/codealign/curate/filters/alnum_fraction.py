from __future__ import annotations

import re

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record

_NOT_ALNUM = re.compile(r"[\W_]+")


class AlnumFraction(Filter):
    """At least `minimum` of the characters are letters or digits (StarCoder: 0.25)."""

    name = "alnum_fraction"
    applies_to = ("file",)

    def __init__(self, minimum: float = 0.25) -> None:
        self.minimum = minimum

    def keep(self, record: Record) -> Verdict:
        text = self.text(record)
        if not text:
            return "empty"
        frac = len(_NOT_ALNUM.sub("", text)) / len(text)
        return True if frac >= self.minimum else f"alphanumeric {frac:.2f} < {self.minimum:g}"
