"""Extract top-level Python functions with their provenance (path, line span, repository, commit, license).

Each function record also lists the module-level imports it refers to (`imports`: local name -> module), because
a function's dependencies on `os` or `matplotlib` show up as names bound by imports at the top of the file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from codealign.curate.readers import SourceFile
from codealign.records import Record


def module_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> fully qualified module or object, for imports at module level (including under if/try)."""
    out: dict[str, str] = {}
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, (ast.If, ast.Try)):
            stack.extend(ast.iter_child_nodes(node))
    return out


def used_names(func: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}


def extract_functions(file: SourceFile) -> Iterator[Record] | SyntaxError:
    """Top-level (async) functions of a Python file as `function` records, or the SyntaxError if it does not parse."""
    try:
        tree = ast.parse(file.text)
    except (SyntaxError, ValueError) as exc:
        return exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
    return _functions(file, tree)


def _functions(file: SourceFile, tree: ast.Module) -> Iterator[Record]:
    lines = file.text.splitlines(keepends=True)
    imports = module_imports(tree)
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        start, end = node.lineno, node.end_lineno or node.lineno
        source = "".join(lines[start - 1 : end]).rstrip() + "\n"
        refs = {name: imports[name] for name in sorted(used_names(node)) if name in imports}
        data: dict[str, Any] = {"seed": source, "name": node.name, "imports": refs}
        prov = file.provenance() | {"lines": [start, end]}
        yield Record("function", data, provenance=prov)


def file_record(file: SourceFile) -> Record:
    """A whole file as a `file` record (the unit for raw-code curation)."""
    return Record("file", {"seed": file.text, "name": file.path.rsplit("/", 1)[-1]}, provenance=file.provenance())
