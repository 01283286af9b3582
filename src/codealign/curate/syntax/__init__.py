"""Source languages for curation: how to find functions in a file, and what the seed rules ask of one function.

One module per language, registered in `codealign.registry.SYNTAXES`: Python through the standard library's `ast`,
the others (C++, Java, Go, Rust, JavaScript, TypeScript, shell) through tree-sitter grammars from PyPI (the `langs`
extra). The seed-rule filters ask a record's language for its `Facts`; adding a language is one module and one line.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codealign.curate.syntax.base import Syntax


@cache
def syntax(language: str) -> Syntax:
    """The syntax of a registered language (or alias: cpp, c++, js, ts, sh, ...)."""
    from codealign.registry import SYNTAXES

    return SYNTAXES.get(language)()


def by_suffix(languages: tuple[str, ...]) -> dict[str, str]:
    """File suffix -> language, for the given languages."""
    out: dict[str, str] = {}
    for name in languages:
        lang = syntax(name)
        for suffix in lang.suffixes:
            out.setdefault(suffix, lang.name)
    return out
