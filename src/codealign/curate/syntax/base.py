"""The contract of a curation language: `functions(text)` cuts a file into functions; `facts(text, imports)` says
what the seed rules need to know about one of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

Verdict = bool | str  # True, or False / a short reason


@dataclass(frozen=True)
class Facts:
    """The SelfCodeAlign seed rules, answered for one function: each True, or the reason it fails."""

    parses: Verdict
    doc: Verdict  # a docstring (Python) or doc comment first
    returns: Verdict  # returns a value
    arguments: Verdict  # takes at least one argument
    system: Verdict  # uses no process, filesystem, environment or network API


@dataclass
class Unit:
    """One function cut out of a file: its text (with its doc comment), name, 1-based line span and the
    file-level imports it can see (local name -> module)."""

    name: str
    text: str
    start: int
    end: int
    imports: dict[str, str] = field(default_factory=dict)


class Syntax:
    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()

    def functions(self, text: str) -> list[Unit] | SyntaxError:
        """The seed candidates of a file, or the SyntaxError (with `lineno`) if it does not parse."""
        raise NotImplementedError

    def facts(self, text: str, imports: dict[str, Any] | None = None) -> Facts:
        """The seed rules for one function's text (as `functions` cut it)."""
        raise NotImplementedError
