from __future__ import annotations

import re

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record

# long runs of base64, hex, or escaped bytes/code points: embedded data rather than code (StarCoder2)
# The look-behinds make each run start at its beginning, so the scan stays linear on long identifiers.
_RUNS = re.compile(
    r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{64,}={0,2}"
    r"|(?<![\w])(?:0x[0-9a-fA-F]{1,2},\s*){16,}"
    r"|(?<!\\)(?:\\[ux][0-9a-fA-F]{2,4}){8,}"
)


_DATA_CHAR = re.compile(r"[0-9+/=]")


class EncodedData(Filter):
    """Encoded-data runs make up at most `max_fraction` of the file and none is longer than `max_run` characters."""

    name = "encoded_data"
    applies_to = ("file",)

    def __init__(self, max_fraction: float = 0.5, max_run: int = 1024) -> None:
        self.max_fraction, self.max_run = max_fraction, max_run

    def keep(self, record: Record) -> Verdict:
        text = self.text(record)
        total = longest = 0
        for m in _RUNS.finditer(text):
            n = m.end() - m.start()
            # a long identifier (no digit, no +/=) is not data
            if n < 256 and not _DATA_CHAR.search(m.group(0)):
                continue
            total += n
            longest = max(longest, n)
        if longest > self.max_run:
            return f"encoded run of {longest} chars"
        if text and total / len(text) > self.max_fraction:
            return f"encoded data {total / len(text):.0%} of file"
        return True
