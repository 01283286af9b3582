"""The filter contract: one method, `keep(record) -> True | False | "reason"`."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from codealign.records import Record

if TYPE_CHECKING:
    from codealign.curate.syntax.base import Facts

Verdict = bool | str


class Filter:
    """Subclasses set `name` and implement `keep`; returning a string rejects with that reason."""

    name: ClassVar[str] = ""
    applies_to: ClassVar[tuple[str, ...]] = ("function", "file")

    def keep(self, record: Record) -> Verdict:
        raise NotImplementedError

    @staticmethod
    def text(record: Record) -> str:
        return str(record.data.get("seed", ""))


def verdict_reason(f: Filter, verdict: Verdict) -> str | None:
    """None when kept; otherwise the reason, prefixed by the filter's name."""
    if verdict is True:
        return None
    if verdict is False or verdict == "":
        return f.name
    return f"{f.name}: {verdict}"


def language_of(record: Record) -> str:
    return str(record.data.get("language") or "python")


def facts(record: Record) -> Facts:
    """What the seed rules ask of a one-function record, answered by its language (parsed once per text)."""
    from codealign.curate.syntax import syntax

    return syntax(language_of(record)).facts(str(record.data.get("seed", "")), record.data.get("imports") or {})
