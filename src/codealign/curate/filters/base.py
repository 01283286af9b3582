"""The filter contract: one method, `keep(record) -> True | False | "reason"`."""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import ClassVar

from codealign.records import Record

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


def parse_function(record: Record) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function node of a one-function record (parsed once per text: every seed rule needs it)."""
    return _parse(str(record.data.get("seed", "")))


@lru_cache(maxsize=64)
def _parse(text: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    return next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
