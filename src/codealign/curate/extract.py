"""Cut source files into functions, each a record with its provenance (path, line span, repository, commit,
license), its language and the file-level imports it refers to (`imports`: local name -> module), since a function's
dependence on `os` or `std::fs` shows up as names bound at the top of its file. How a language is cut is its
`codealign.curate.syntax` module's business (`ast` for Python, tree-sitter for the rest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from codealign.curate.readers import SourceFile
from codealign.curate.syntax.python import module_imports, used_names  # noqa: F401 (kept importable here)
from codealign.records import Record


def extract_functions(file: SourceFile, language: str = "python") -> Iterator[Record] | SyntaxError:
    """The seed candidates of a file as `function` records, or the SyntaxError if it does not parse."""
    from codealign.curate.syntax import syntax

    lang = syntax(language)
    units = lang.functions(file.text)
    if isinstance(units, SyntaxError):
        return units
    return _records(file, lang.name, units)


def _records(file: SourceFile, language: str, units: list) -> Iterator[Record]:
    for unit in units:
        data: dict[str, Any] = {"seed": unit.text, "name": unit.name, "imports": unit.imports}
        if language != "python":  # Python seeds keep the layout (and ids) they always had
            data["language"] = language
        yield Record("function", data, provenance=file.provenance() | {"lines": [unit.start, unit.end]})


def file_record(file: SourceFile, language: str = "python") -> Record:
    """A whole file as a `file` record (the unit for raw-code curation)."""
    data: dict[str, Any] = {"seed": file.text, "name": file.path.rsplit("/", 1)[-1]}
    if language != "python":
        data["language"] = language
    return Record("file", data, provenance=file.provenance())
