"""What selection works on: (instruction, sample, outcome) triples, and the small helpers every part shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from codealign.records import Record
from codealign.sandbox.adequacy import Adequacy
from codealign.sandbox.types import Outcome, Status
from codealign.select.consensus import CrossResult

Item = tuple[Record, Record, "Outcome | None"]
# Executed and wrong: what a DPO "rejected" answer may be. Sandbox errors are never the program's fault.
FAILING = (Status.FAILED, Status.TIMEOUT, Status.MEMORY, Status.SYNTAX, Status.CRASHED)
_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """The text without whitespace: two responses that differ only in spacing are the same response."""
    return _SPACE.sub("", text)


@dataclass(frozen=True)
class Evidence:
    """What execution feedback said about a sample besides its own outcome; a part not measured is None."""

    adequacy: Adequacy | None = None  # coverage of the solution by its tests, and their mutation score
    cross: CrossResult | None = None  # its results on the tests of the other samples of its instruction


NO_EVIDENCE = Evidence()
