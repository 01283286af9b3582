"""Python, through the standard library's `ast`: top-level (async) functions, docstrings, SelfCodeAlign's rules."""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

from codealign.curate.syntax.base import Facts, Syntax, Unit, Verdict

# process- and filesystem-level modules and plotting: seeds using them make tasks that cannot run in a sandbox
BANNED = frozenset(
    {"os", "sys", "subprocess", "shutil", "argparse", "setuptools", "distutils", "matplotlib", "seaborn", "pylab"}
)


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


@lru_cache(maxsize=64)
def parse_function(text: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first function of a text (parsed once per text: every seed rule needs it)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    return next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)


def _own_returns(node: ast.AST) -> bool:
    """A `return <value>` in this function's own body; nested functions, classes and lambdas do not count."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.Return) and child.value is not None:
            return True
        if _own_returns(child):
            return True
    return False


def _docstring(text: str, node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> Verdict:
    """The first statement is a non-empty triple-quoted docstring."""
    if node is None or not node.body:
        return "no function"
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
        return False
    if not first.value.value.strip():
        return "empty docstring"
    segment = ast.get_source_segment(text, first.value) or ""
    if not segment.lstrip("rRuUbB").startswith(('"""', "'''")):
        return "docstring not triple-quoted"
    return True


def _root(module: str) -> str:
    return module.split(".", 1)[0]


def _system(node: ast.AST, imports: dict[str, Any]) -> Verdict:
    """None of BANNED: names the function uses that module-level imports bind, or imports inside it."""
    used: set[str] = set()
    for name, module in imports.items():
        used.add(_root(str(module)))
        used.add(name)
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            used.update(_root(a.name) for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module:
            used.add(_root(n.module))
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in BANNED:
            used.add(n.value.id)  # `os.path.join(...)` with `os` imported where we cannot see it
    hit = sorted(used & BANNED)
    return True if not hit else f"uses {hit[0]}"


class PythonSyntax(Syntax):
    name = "python"
    suffixes = (".py",)

    def functions(self, text: str) -> list[Unit] | SyntaxError:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError) as exc:
            return exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
        lines = text.splitlines(keepends=True)
        imports = module_imports(tree)
        out = []
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            start, end = node.lineno, node.end_lineno or node.lineno
            source = "".join(lines[start - 1 : end]).rstrip() + "\n"
            refs = {name: imports[name] for name in sorted(used_names(node)) if name in imports}
            out.append(Unit(node.name, source, start, end, refs))
        return out

    def facts(self, text: str, imports: dict[str, Any] | None = None) -> Facts:
        node = parse_function(text)
        if node is None:
            return Facts("syntax error", "no function", False, False, False)
        a = node.args
        return Facts(
            parses=True,
            doc=_docstring(text, node),
            returns=_own_returns(node),
            arguments=bool(a.posonlyargs or a.args or a.vararg or a.kwonlyargs or a.kwarg),
            system=_system(node, imports or {}),
        )
