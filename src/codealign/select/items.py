"""What selection works on: (instruction, sample, outcome) triples, and the small helpers every part shares."""

from __future__ import annotations

import re

from codealign.records import Record
from codealign.sandbox.types import Outcome, Status

Item = tuple[Record, Record, "Outcome | None"]
# Executed and wrong: what a DPO "rejected" answer may be. Sandbox errors are never the program's fault.
FAILING = (Status.FAILED, Status.TIMEOUT, Status.MEMORY, Status.SYNTAX, Status.CRASHED)
_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """The text without whitespace: two responses that differ only in spacing are the same response."""
    return _SPACE.sub("", text)
