"""Reading the code inside a model's response: fenced blocks, the program to run, and the static checks selection
makes on it (defined names, code skeleton, placeholders, whether the tests exercise the solution).
"""

from __future__ import annotations

import ast
import re

# A fence opens with ``` plus an optional language tag; an unterminated last block runs to the end of the text.
_FENCE = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.S | re.M)

_MARKERS = re.compile(r"your code (?:goes )?here|write your code|\bTODO\b|\bFIXME\b|#\s*(?:todo|fixme)\b", re.I)
# Lower-case "todo" in prose or names ("a todo list", TodoList) is ordinary vocabulary, not a placeholder.
_CASE_SENSITIVE = re.compile(r"\bTODO\b|\bFIXME\b")
_ABSTRACT_DECORATORS = {"abstractmethod", "abstractproperty", "overload"}
_ABSTRACT_BASES = {"ABC", "Protocol", "ABCMeta"}


def code_blocks(text: str) -> list[str]:
    """The contents of every fenced code block, in order, whatever its language tag."""
    return [m.group(1).rstrip("\n") for m in _FENCE.finditer(text) if m.group(1).strip()]


def join_blocks(text: str) -> str:
    return "\n\n".join(code_blocks(text))


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


def program_parts(solution: str, tests: str) -> tuple[str, str]:
    """The code and the tests of a response, as the sandbox runs them (code first, then tests, one process)."""
    code = "\n\n".join(strip_main_guard(block) for block in code_blocks(solution))
    return code, join_blocks(tests)


# ---------------------------------------------------------------------------------------------------------------
# Names and skeletons


def defined_names(code: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """Top-level function and class names, normalised (lower case, no underscores); None if the code won't parse."""
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


def skeleton(code: str) -> str:
    """Top-level functions and classes without docstrings, re-printed: the structure near-dedup compares."""
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


def placeholder(text: str, code: str) -> str | None:
    """Why a response looks unfinished ("your code here", TODO, stub bodies), or None.

    A stub is allowed where it is a legitimate pattern: abstract or overloaded methods, methods of ABC/Protocol
    classes, and methods of a class that another class in the same code derives from.
    """
    for m in _MARKERS.finditer(text):
        if m.group(0).lower().startswith(("todo", "fixme")) and not _CASE_SENSITIVE.fullmatch(m.group(0)):
            continue
        return f"marker {m.group(0).strip()!r}"
    tree = _parse(code)
    if tree is None:
        return None
    bases = {b.id for n in ast.walk(tree) if isinstance(n, ast.ClassDef) for b in n.bases if isinstance(b, ast.Name)}

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
# Do the tests exercise the solution?


def _solution_names(tree: ast.Module) -> set[str]:
    """Names a test can reach the solution through: its top-level defs and classes, and computed module globals."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and not _is_literal(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(_target_names(targets))
    return names


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _target_names(targets: list[ast.expr]) -> set[str]:
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _taint(tests: ast.Module, tainted: set[str]) -> set[str]:
    """Close `tainted` over the tests: names bound from an expression that uses the solution become tainted too."""
    tainted = set(tainted)
    while True:
        before = len(tainted)
        for node in ast.walk(tests):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                if node.value is not None and _loads(node.value) & tainted:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    tainted |= _target_names(targets)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                if _loads(node.iter) & tainted:
                    tainted |= _target_names([node.target])
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None and _loads(item.context_expr) & tainted:
                        tainted |= _target_names([item.optional_vars])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if any(_loads(stmt) & tainted for stmt in node.body) or any(_loads(b) & tainted for b in getattr(node, "bases", [])):
                    tainted.add(node.name)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                # `obj.method(x)` / `helper(obj)` may change the objects it is given: they now carry solution state.
                call = node.value
                if _loads(call) & tainted:
                    tainted |= {a.id for a in call.args if isinstance(a, ast.Name)}
        if len(tainted) == before:
            return tainted


def _checked(node: ast.AST) -> list[ast.AST]:
    """What an assertion checks: `assert expr`, or the arguments of `self.assertEqual(...)`-style calls."""
    if isinstance(node, ast.Assert):
        return [node.test]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("assert"):
        return [*node.args, *(k.value for k in node.keywords)]
    return []


def _is_test_case(node: ast.ClassDef) -> bool:
    return any((b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")).endswith("TestCase") for b in node.bases)


def _reachable_assertions(tests: ast.Module) -> list[ast.AST]:
    """The expressions of assertions that can run: at module level, in a function the tests refer to outside its
    own body, or in a method of a unittest TestCase (run by the test runner, not by name)."""
    used = {
        sub.id
        for node in tests.body
        for sub in ast.walk(node)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)
    }
    found: list[ast.AST] = []

    def visit(node: ast.AST, live: bool, in_test_case: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            live = live and (in_test_case or node.name in used)
            in_test_case = False
        elif isinstance(node, ast.ClassDef):
            in_test_case = _is_test_case(node)
        if live:
            found.extend(_checked(node))
        for child in ast.iter_child_nodes(node):
            visit(child, live, in_test_case)

    visit(tests, True, False)
    return found


def _exits(nodes: list[ast.stmt], top_level_only: bool) -> bool:
    """A call to sys.exit/exit/quit/os._exit: the process would end, with status 0, before later asserts run."""
    for stmt in nodes:
        if top_level_only and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("exit", "quit"):
                return True
            owner = func.value if isinstance(func, ast.Attribute) else None
            if isinstance(owner, ast.Name) and owner.id in ("sys", "os") and func.attr in ("exit", "_exit"):
                return True
    return False


def weak_tests(solution_code: str, tests_code: str) -> str | None:
    """Why the tests fail to check the solution, or None when at least one reachable assert uses it.

    Catches `assert True`, asserts on constants or on values the tests computed themselves, tests that redefine
    the function they claim to test, test functions that are never called, and an explicit exit that would end
    the program with status 0 before the assertions ran.
    """
    sol = _parse(solution_code)
    tests = _parse(tests_code)
    if sol is None or tests is None:
        return None  # unreadable code is judged by execution, not here
    names = _solution_names(sol)
    redefined = {
        n.name for n in tests.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    } & names
    if redefined:
        return f"tests redefine {sorted(redefined)[0]}"
    if _exits(tests.body, top_level_only=False) or _exits(sol.body, top_level_only=True):
        return "exits before the tests finish"
    checked = _reachable_assertions(tests)
    if not checked:
        return "no assert runs"
    tainted = _taint(tests, names)
    if not any(_loads(expr) & tainted for expr in checked):
        return "no assert uses the solution"
    return None
