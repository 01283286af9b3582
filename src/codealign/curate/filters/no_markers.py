from __future__ import annotations

import re

from codealign.curate.filters.base import Filter, Verdict
from codealign.records import Record

_MARKER = re.compile(r"\b(todo|fixme|bug)\b", re.IGNORECASE)


class NoMarkers(Filter):
    """No `todo`, `fixme` or `bug` as whole words: unfinished code makes poor seeds (`debug` is fine)."""

    name = "no_markers"

    def keep(self, record: Record) -> Verdict:
        m = _MARKER.search(self.text(record))
        return True if m is None else f"marker {m.group(1).lower()!r}"
