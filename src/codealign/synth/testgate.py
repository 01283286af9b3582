"""The test-quality gate: do a response's tests actually check its solution?

A test passes the gate when at least one assertion that can run reads a value that depends on a name the solution
defines. Values are followed through the tests (a name bound from an expression that reads the solution depends on
it too), so `s = Stack(); s.push(1); assert s.items == [1]` counts, while `assert True`, asserts on constants or on
values the tests computed themselves, uncalled test functions and tests that redefine the solution do not.
The tests are scanned once, bottom-up, because selection runs this on every passing sample.
"""

from __future__ import annotations

import ast
import re

_EXIT_HINT = re.compile(r"\b(?:exit|quit|_exit)\s*\(")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Nodes with nothing below them worth a visit (contexts and operators).
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop, ast.Constant)
# Nodes `_Scan._record` looks at; every other node only passes the names it reads up to its parent.
_RECORDED = frozenset(
    {
        ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.comprehension,
        ast.withitem, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Expr, ast.Assert, ast.Call,
    }
)


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def solution_names(tree: ast.Module) -> set[str]:
    """Names a test can reach the solution through: its top-level defs and classes, and computed module globals."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (*_DEFS, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and not _is_literal(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= _names(target)
    return names


def _is_test_case(node: ast.ClassDef) -> bool:
    return any((b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")).endswith("TestCase") for b in node.bases)


def _tautology(test: ast.expr) -> bool:
    """`assert f(x) == f(x)` and the like: true whatever the solution does."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    if not isinstance(test.ops[0], (ast.Eq, ast.Is, ast.GtE, ast.LtE)):
        return False
    return ast.dump(test.left) == ast.dump(test.comparators[0])


class _Scan:
    """One bottom-up pass: every Name read, the bindings (reads -> bound names) and the assertions with the chain
    of functions they sit in (an assertion runs only if each of those functions is referred to somewhere)."""

    def __init__(self, tree: ast.Module) -> None:
        self.bindings: list[tuple[set[str], set[str]]] = []
        self.assertions: list[tuple[set[str], tuple[str, ...]]] = []
        self.used = self.visit(tree, (), False)

    def visit(self, node: ast.AST, funcs: tuple[str, ...], in_test_case: bool) -> set[str]:
        inner_funcs, inner_case = funcs, in_test_case
        if isinstance(node, _DEFS):
            # unittest runs the methods of a TestCase itself; any other function must be called to run.
            inner_funcs = funcs if in_test_case else (*funcs, node.name)
            inner_case = False
        elif isinstance(node, ast.ClassDef):
            inner_case = _is_test_case(node)
        reads: dict[str, set[str]] = {}
        loads: set[str] = set()
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                got: set[str] = set()
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        got |= self.visit(item, inner_funcs, inner_case)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                got = self.visit(value, inner_funcs, inner_case)
            else:
                continue
            reads[name] = got
            loads |= got
        if type(node) is ast.Name and type(node.ctx) is ast.Load:
            loads.add(node.id)
        if type(node) in _RECORDED:
            self._record(node, reads, funcs)
        return loads

    def _record(self, node: ast.AST, reads: dict[str, set[str]], funcs: tuple[str, ...]) -> None:
        bind = self.bindings.append
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            if node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                bind((reads.get("value", set()), set().union(*(_names(t) for t in targets))))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            bind((reads.get("iter", set()), _names(node.target)))
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None:
                bind((reads.get("context_expr", set()), _names(node.optional_vars)))
        elif isinstance(node, (*_DEFS, ast.ClassDef)):
            bind((reads.get("body", set()) | reads.get("bases", set()), {node.name}))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            # `obj.method(x)` / `helper(obj)` may change the objects it is given: they now carry solution state.
            bind((reads.get("value", set()), {a.id for a in node.value.args if isinstance(a, ast.Name)}))
        elif isinstance(node, ast.Assert):
            self.assertions.append((set() if _tautology(node.test) else reads.get("test", set()), funcs))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("assert"):
            self.assertions.append((reads.get("args", set()) | reads.get("keywords", set()), funcs))

    def taint(self, names: set[str]) -> set[str]:
        tainted = set(names)
        changed = True
        while changed:
            changed = False
            for reads, bound in self.bindings:
                if not bound <= tainted and reads & tainted:
                    tainted |= bound
                    changed = True
        return tainted


def _exits(body: list[ast.stmt], top_level_only: bool, source: str) -> bool:
    """A call to sys.exit/exit/quit/os._exit: the process would end, with status 0, before later asserts run."""
    if not _EXIT_HINT.search(source):
        return False
    for stmt in body:
        if top_level_only and isinstance(stmt, (*_DEFS, ast.ClassDef)):
            continue
        for node in ast.walk(stmt):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Name) and func.id in ("exit", "quit"):
                return True
            owner = func.value if isinstance(func, ast.Attribute) else None
            if isinstance(owner, ast.Name) and owner.id in ("sys", "os") and func.attr in ("exit", "_exit"):
                return True
    return False


def weak_tests(solution_code: str, tests_code: str) -> str | None:
    """Why the tests fail to check the solution, or None when at least one reachable assertion uses it."""
    sol = _parse(solution_code)
    tests = _parse(tests_code)
    if sol is None or tests is None:
        return None  # unreadable code is judged by execution, not here
    names = solution_names(sol)
    redefined = {n.name for n in tests.body if isinstance(n, (*_DEFS, ast.ClassDef))} & names
    if redefined:
        return f"tests redefine {sorted(redefined)[0]}"
    if _exits(tests.body, False, tests_code) or _exits(sol.body, True, solution_code):
        return "exits before the tests finish"
    scan = _Scan(tests)
    reachable = [reads for reads, funcs in scan.assertions if all(f in scan.used for f in funcs)]
    if not reachable:
        return "no assert runs"
    tainted = scan.taint(names)
    if not any(reads & tainted for reads in reachable):
        return "no assert uses the solution"
    return None
