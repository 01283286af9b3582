"""Reading the code inside a model's response: fenced blocks, the program to run, and the static checks selection
makes on it (defined names, code skeleton, placeholders). Whether the tests exercise the code: `testgate`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

# A fence opens with ``` plus an optional language tag; an unterminated last block runs to the end of the text.
_FENCE = re.compile(r"^[ \t]*```[ \t]*([^\n`]*)\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.S | re.M)
# Blocks that are Python to run. Untagged blocks count (models often omit the tag); shell commands, program output
# and other languages shown for illustration do not, nor do interpreter transcripts (`>>> f(1)`).
_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}

_MARKERS = re.compile(r"your code (?:goes )?here|write your code|\bTODO\b|\bFIXME\b|#\s*(?:todo|fixme)\b", re.I)
# Lower-case "todo" in prose or names ("a todo list", TodoList) is ordinary vocabulary, not a placeholder.
_CASE_SENSITIVE = re.compile(r"\bTODO\b|\bFIXME\b")
_STUB_HINT = re.compile(r"\bpass\b|\.\.\.|NotImplemented|\"\"\"|'''")
_ABSTRACT_DECORATORS = {"abstractmethod", "abstractproperty", "overload"}
_ABSTRACT_BASES = {"ABC", "Protocol", "ABCMeta"}


def tag_language(tag: str) -> str | None:
    """The sandbox language a fence tag names (`rs` -> rust, `c++` -> cpp), through the registry's aliases."""
    from codealign.registry import LANGUAGES

    return LANGUAGES.entry(tag).name if tag and tag in LANGUAGES else None


def code_blocks(text: str, language: str = "python") -> list[str]:
    """The contents of the fenced code blocks in `language` (untagged blocks count too), in order."""
    blocks = []
    for m in _FENCE.finditer(text):
        tag, body = (m.group(1).split() or [""])[0].lower(), m.group(2)
        if language == "python":
            wanted = tag in _PYTHON_TAGS and not body.lstrip().startswith(">>>")
        else:
            wanted = tag == "" or tag_language(tag) == language
        if wanted and body.strip():
            blocks.append(body.rstrip("\n"))
    return blocks


def join_blocks(text: str, language: str = "python") -> str:
    return "\n\n".join(code_blocks(text, language))


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    consts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and consts == {"__main__"}


def strip_main_guard(code: str) -> str:
    """Drop top-level `if __name__ == "__main__":` blocks.

    The tests run after the code in the same process, so a script entry point would read the (empty) standard
    input, parse the sandbox's argv or call sys.exit before any test ran.
    """
    if "__main__" not in code:
        return code
    tree = _parse(code)
    if tree is None:
        return code
    lines = code.splitlines()
    drop: set[int] = set()
    for node in tree.body:
        if _is_main_guard(node):
            drop.update(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    if not drop:
        return code
    return "\n".join(line for i, line in enumerate(lines) if i not in drop).rstrip() + "\n"


def program_parts(solution: str, tests: str, language: str = "python") -> tuple[str, str]:
    """The code and the tests of a response, as the sandbox runs them (code first, then tests, one process)."""
    if language != "python":
        return join_blocks(solution, language), join_blocks(tests, language)
    code = "\n\n".join(strip_main_guard(block) for block in code_blocks(solution))
    return code, join_blocks(tests)


def code_kind(solution: str, language: str = "python") -> str | None:
    """What a response's code is, read from it rather than from what was asked: a `program` when it does something
    when run (reads standard input or argv, has a main guard, calls or loops at top level), else a `class` when it
    defines one at top level, else a `function`; None when the code does not parse or is in another language."""
    if language != "python":
        return None
    tree = _parse(join_blocks(solution) if "```" in solution else solution)
    if tree is None:
        return None
    has_class = has_function = runs = False
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            has_class = True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            has_function = True
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Pass)):
            continue
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        else:
            runs = True  # a main guard, a call, a loop, a print: what a script does
    reads_input = any(
        (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "input")
        or (isinstance(n, ast.Attribute) and n.attr in ("stdin", "argv") and isinstance(n.value, ast.Name)
            and n.value.id == "sys")
        for n in ast.walk(tree)
    )  # fmt: skip
    if runs or reads_input:
        return "program"
    if has_class:
        return "class"
    return "function" if has_function else None


# ---------------------------------------------------------------------------------------------------------------
# Names and skeletons


def _other_syntax(language: str) -> Any:
    """The tree-sitter reading of another language, or None without the `langs` extra (then: not applicable)."""
    from codealign.curate.syntax import syntax
    from codealign.errors import CodealignError

    try:
        return syntax(language)
    except CodealignError:
        return None


def defined_names(code: str, language: str = "python") -> tuple[frozenset[str], frozenset[str]] | None:
    """Top-level function and class names, normalised (lower case, no underscores); None if the code won't parse.

    Other languages: functions (Java: methods of top-level classes) and types (classes, structs, enums, traits)
    through tree-sitter; None without the `langs` extra."""
    if language != "python":
        lang = _other_syntax(language)
        found = lang.definitions(code) if lang is not None else None
        if found is None:
            return None
        funcs, classes = set(found[0]), set(found[1])
    else:
        tree = _parse(code)
        if tree is None:
            return None
        funcs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}

    def norm(names: set[str]) -> frozenset[str]:
        return frozenset(name.lower().replace("_", "") for name in names)

    return norm(funcs), norm(classes)


def _strip_docstrings(node: ast.AST) -> None:
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = child.body
            first = body[0].value if body and isinstance(body[0], ast.Expr) else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                child.body = body[1:] or [ast.Pass()]


def skeleton(code: str, language: str = "python") -> str:
    """Top-level functions and classes without docstrings, re-printed: the structure near-dedup compares (other
    languages: their top-level definitions without comments, through tree-sitter; empty without the extra)."""
    if language != "python":
        lang = _other_syntax(language)
        return lang.skeleton(code) if lang is not None else ""
    tree = _parse(code)
    if tree is None:
        return ""
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    module = ast.Module(body=defs, type_ignores=[])
    _strip_docstrings(module)
    return ast.unparse(module)


# ---------------------------------------------------------------------------------------------------------------
# Placeholders


def _decorator_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute):
            names.add(target.attr)
        elif isinstance(target, ast.Name):
            names.add(target.id)
    return names


def _is_stub_body(body: list[ast.stmt]) -> bool:
    """A body that does nothing: only a docstring, `pass`, `...` or `raise NotImplementedError`."""
    rest = body
    if rest and isinstance(rest[0], ast.Expr) and isinstance(rest[0].value, ast.Constant):
        rest = rest[1:]
    if not rest:
        return True
    for stmt in rest:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id in ("NotImplementedError", "NotImplemented"):
                continue
        return False
    return True


def _class_defs(body: list[ast.stmt]) -> Iterator[ast.ClassDef]:
    """Class statements at any depth, visiting statement bodies only (much cheaper than a full ast.walk)."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            yield node
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _class_defs(inner)


# Stubs in other languages: Rust's todo!()/unimplemented!(), and a "not implemented" error anywhere.
_OTHER_STUBS = re.compile(r"\btodo!\s*\(|\bunimplemented!\s*\(|\bnot (?:yet )?implemented\b", re.I)


def placeholder(text: str, code: str, language: str = "python") -> str | None:
    """Why a response looks unfinished ("your code here", TODO, stub bodies), or None.

    A stub is allowed where it is a legitimate pattern: abstract or overloaded methods, methods of ABC/Protocol
    classes, and methods of a class that another class in the same code derives from.
    """
    for m in _MARKERS.finditer(text):
        if m.group(0).lower().startswith(("todo", "fixme")) and not _CASE_SENSITIVE.fullmatch(m.group(0)):
            continue
        return f"marker {m.group(0).strip()!r}"
    if language != "python":
        stub = _OTHER_STUBS.search(code)
        return f"stub {stub.group(0).strip()!r}" if stub else None
    if not _STUB_HINT.search(code):
        return None  # every stub body needs one of these tokens; most code is cleared without parsing it
    tree = _parse(code)
    if tree is None:
        return None
    bases = {b.id for n in _class_defs(tree.body) for b in n.bases if isinstance(b, ast.Name)}

    def stub_in(body: list[ast.stmt]) -> str | None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not (_decorator_names(node) & _ABSTRACT_DECORATORS) and _is_stub_body(node.body):
                    return f"stub body in {node.name}()"
            elif isinstance(node, ast.ClassDef):
                class_bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if node.name in bases or class_bases & _ABSTRACT_BASES:
                    continue
                found = stub_in(node.body)
                if found:
                    return found
        return None

    return stub_in(tree.body)


# ---------------------------------------------------------------------------------------------------------------
# Format of a sample

# Top-level statements only: if every one defines or imports something, nothing in the tests ever runs.
_ALPHA_LINE = re.compile(r"^[A-Za-z_@]")
_NOT_RUNNING = re.compile(r"^(def|class|import|from|async\s+def)\b|^@")


# What stops a test on a failed check, in the other languages: assert/assert!/assert_eq!, panic, throw, t.Errorf,
# exit 1, `set -e` with [[ ]] or test.
_CHECKS = re.compile(r"\bassert|\bpanic!?\s*\(|\bthrow\b|\bt\.(?:Error|Fatal)|\bexit\s+1\b|\bset\s+-e\b|\|\|\s*exit")


def format_reason(data: dict[str, Any], tests_required: bool = True) -> str | None:
    """Why a sample's text cannot be a training example, before running it; None when it is well formed.

    `tests_required=False` is for methods that write no tests (nothing is executed): only the code is checked.
    The sample's `language` (Python when absent) says which fenced blocks are code.
    """
    language = data.get("language") or "python"
    solution, tests = data.get("solution") or "", data.get("tests") or ""
    if not code_blocks(solution, language):
        return "format:no_code"
    if tests_required:
        test_code = join_blocks(tests, language)
        if not test_code.strip():
            return "format:no_tests"
        if language == "python":
            if "assert" not in test_code:
                return "format:no_assert"
            lines = [line for line in test_code.splitlines() if _ALPHA_LINE.match(line)]
            if lines and all(_NOT_RUNNING.match(line) for line in lines):
                return "format:tests_never_run"
        elif not _CHECKS.search(test_code):
            return "format:no_assert"
    if placeholder(solution + "\n" + tests, join_blocks(solution, language), language):
        return "format:placeholder"
    return None
