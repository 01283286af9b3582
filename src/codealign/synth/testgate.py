"""The test-quality gate, static half: what each assertion of a response's tests can check.

`assert_classes` sorts every assert site of the tests (an `assert` statement, an `assert*()` call statement, a
`with self.assertRaises(...)` block) into what it can tell about the solution:

  binding     compares or tests a value computed from the solution
  truthiness  tests a bare value (`assert f(x)`): binding when that value is a bool, as for a predicate; the
              sandbox reports which it was at run time
  type_check  only a type, None-ness or attribute check (`isinstance`, `is not None`, `callable`, `hasattr`)
  constant    cannot fail: only literals, `x == x`, or short-circuits to true (`... or True`, `... or 1`)
  swallowed   sits in a `try` whose handler catches AssertionError (or every exception) and does not re-raise,
              or in `with suppress(...)` of those
  unused      reads nothing computed from the solution

Values are followed through the tests (a name bound from an expression that reads the solution depends on it too),
so `s = Stack(); s.push(1); assert s.items == [1]` is binding. Which sites ran, and how often, is measured in the
sandbox (`Program.checks`), not read from here; `weak_tests` is the purely static verdict for outcomes that carry
no such counts. The tests are scanned once, bottom-up, because selection runs this on every passing sample.
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
        ast.withitem, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Expr, ast.Assert, ast.Call, ast.With,
    }
)


def parse(code: str) -> ast.Module | None:
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


_CATCH_ALL = frozenset({"AssertionError", "Exception", "BaseException"})


def _dotted_tail(node: ast.AST | None) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _catches_assertions(kind: ast.expr | None) -> bool:
    if kind is None:
        return True
    kinds = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(_dotted_tail(k) in _CATCH_ALL for k in kinds)


def _raises(body: list[ast.stmt]) -> bool:
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Raise):
            return True
        if not isinstance(node, (*_DEFS, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _swallows(node: ast.AST) -> bool:
    """A try or with statement whose body's failed assertions vanish: nothing reaches the test runner."""
    if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        return any(_catches_assertions(h.type) and not _raises(h.body) for h in node.handlers)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and _dotted_tail(call.func) == "suppress" and any(map(_catches_assertions, call.args)):
                return True
    return False


def assert_call(func: ast.AST) -> bool:
    """An `assert*()` call: unittest's assertion methods, numpy.testing's functions, a test's own assert helpers."""
    name = _dotted_tail(func)
    return name.startswith("assert") and not name.startswith("assertion")


class _Scan:
    """One bottom-up pass: every Name read, the bindings (reads -> bound names) and the assertions with the chain
    of functions they sit in (an assertion runs only if each of those functions is referred to somewhere), and each
    assert site with what it reads and whether a handler swallows its failure."""

    def __init__(self, tree: ast.Module) -> None:
        self.bindings: list[tuple[set[str], set[str]]] = []
        self.assertions: list[tuple[set[str], tuple[str, ...]]] = []
        self.sites: list[tuple[ast.AST, set[str], bool]] = []
        self.used = self.visit(tree, (), False, False)

    def visit(self, node: ast.AST, funcs: tuple[str, ...], in_test_case: bool, swallowed: bool) -> set[str]:
        inner_funcs, inner_case, body_swallowed = funcs, in_test_case, swallowed
        if isinstance(node, _DEFS):
            # unittest runs the methods of a TestCase itself; any other function must be called to run.
            inner_funcs = funcs if in_test_case else (*funcs, node.name)
            inner_case = False
            swallowed = body_swallowed = False  # a function body runs where it is called, not where it is defined
        elif isinstance(node, ast.ClassDef):
            inner_case = _is_test_case(node)
        elif isinstance(node, (ast.Try, ast.With, ast.AsyncWith)) or type(node).__name__ == "TryStar":
            body_swallowed = swallowed or _swallows(node)
        reads: dict[str, set[str]] = {}
        loads: set[str] = set()
        for name in node._fields:
            value = getattr(node, name, None)
            inner_swallowed = body_swallowed if name == "body" else swallowed
            if isinstance(value, list):
                got: set[str] = set()
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        got |= self.visit(item, inner_funcs, inner_case, inner_swallowed)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                got = self.visit(value, inner_funcs, inner_case, inner_swallowed)
            else:
                continue
            reads[name] = got
            loads |= got
        if type(node) is ast.Name and type(node.ctx) is ast.Load:
            loads.add(node.id)
        if type(node) in _RECORDED:
            self._record(node, reads, funcs, swallowed)
        return loads

    def _record(self, node: ast.AST, reads: dict[str, set[str]], funcs: tuple[str, ...], swallowed: bool) -> None:
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
        elif isinstance(node, ast.With):
            first = node.items[0].context_expr
            if isinstance(first, ast.Call) and assert_call(first.func):  # with self.assertRaises(E): body
                self.sites.append((node, reads.get("items", set()) | reads.get("body", set()), swallowed))
        elif isinstance(node, (*_DEFS, ast.ClassDef)):
            bind((reads.get("body", set()) | reads.get("bases", set()), {node.name}))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            # `obj.method(x)` / `helper(obj)` may change the objects it is given: they now carry solution state.
            bind((reads.get("value", set()), {a.id for a in node.value.args if isinstance(a, ast.Name)}))
            if assert_call(node.value.func):
                self.sites.append((node, reads.get("value", set()), swallowed))
        elif isinstance(node, ast.Assert):
            self.assertions.append((set() if _tautology(node.test) else reads.get("test", set()), funcs))
            self.sites.append((node, reads.get("test", set()), swallowed))
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


def redefined_name(sol: ast.Module, tests: ast.Module) -> str | None:
    """A solution function or class the tests define again (their asserts then check the tests' own copy)."""
    redefined = {n.name for n in tests.body if isinstance(n, (*_DEFS, ast.ClassDef))} & solution_names(sol)
    return sorted(redefined)[0] if redefined else None


# ---------------------------------------------------------------------------------------------------------------
# What each assert site can check

_TYPE_FUNCS = frozenset({"isinstance", "issubclass", "callable", "hasattr", "type"})
_TYPE_METHODS = frozenset({"assertIsNone", "assertIsNotNone", "assertIsInstance", "assertNotIsInstance"})
_TRUTH_METHODS = frozenset({"assertTrue", "assertFalse", "assert_", "failUnless", "failIf"})
_ORDER = ("constant", "type_check", "truthiness", "binding")  # weakest first
_COMPREHENSIONS = (ast.GeneratorExp, ast.ListComp, ast.SetComp)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _truthy_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return bool(node.value)
    return isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) and _is_literal(node) and bool(ast.literal_eval(node))


def _reads_anything(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) for n in ast.walk(node))


def _shape(test: ast.expr) -> str:
    """What an assertion's test can tell, whatever it reads: constant < type_check < truthiness < binding."""
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    if not _reads_anything(test) or (isinstance(test, ast.Tuple) and test.elts):
        return "constant"  # a non-empty tuple (`assert (x, "msg")`) is always true
    if isinstance(test, ast.BoolOp):
        if isinstance(test.op, ast.Or) and any(_truthy_literal(v) for v in test.values):
            return "constant"
        shapes = sorted((_shape(v) for v in test.values), key=_ORDER.index)
        # `a or b` holds when either does, so it is as weak as its weakest part; `a and b` as strong as its strongest.
        return shapes[0] if isinstance(test.op, ast.Or) else shapes[-1]
    if isinstance(test, ast.Compare):
        if _tautology(test):
            return "constant"
        parts = [test.left, *test.comparators]
        if any(_is_none(p) for p in parts) and all(isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) for op in test.ops):
            return "type_check"
        if any(isinstance(p, ast.Call) and _dotted_tail(p.func) == "type" for p in parts):
            return "type_check"
        return "binding"
    if isinstance(test, ast.Call):
        name = _dotted_tail(test.func)
        if name in _TYPE_FUNCS:
            return "type_check"
        if name in ("all", "any") and test.args and isinstance(test.args[0], _COMPREHENSIONS):
            return _shape(test.args[0].elt)
    return "truthiness"


def _call_shape(call: ast.Call) -> str:
    name = _dotted_tail(call.func)
    if name in _TYPE_METHODS:
        return "type_check"
    args = [*call.args, *(k.value for k in call.keywords)]
    if name in _TRUTH_METHODS and call.args:
        shape = _shape(call.args[0])
        # No run-time value type for calls: a bare value is taken as a predicate's bool.
        return "binding" if shape == "truthiness" else shape
    if not any(_reads_anything(a) for a in args):
        return "constant"
    if len(call.args) >= 2 and ast.dump(call.args[0]) == ast.dump(call.args[1]):
        return "constant"  # assertEqual(f(x), f(x))
    return "binding"


def assert_classes(sol: ast.Module, tests: ast.Module) -> dict[tuple[int, int], str]:
    """Every assert site of the parsed tests, keyed by (line, column) as the sandbox reports them, with its class
    (see the module docstring)."""
    scan = _Scan(tests)
    tainted = scan.taint(solution_names(sol))
    classes: dict[tuple[int, int], str] = {}
    for node, reads, swallowed in scan.sites:
        if isinstance(node, ast.Assert):
            shape = _shape(node.test)
        elif isinstance(node, ast.With):
            shape = "binding"  # `with self.assertRaises(E):` fails unless its body raises E
        else:
            shape = _call_shape(node.value)  # type: ignore[attr-defined]
        if swallowed:
            shape = "swallowed"
        elif shape != "constant" and not reads & tainted:
            shape = "unused"
        classes[(node.lineno, node.col_offset)] = shape
    return classes


def weak_tests(solution_code: str, tests_code: str) -> str | None:
    """Why the tests fail to check the solution, or None when at least one reachable assertion uses it."""
    sol = parse(solution_code)
    tests = parse(tests_code)
    if sol is None or tests is None:
        return None  # unreadable code is judged by execution, not here
    names = solution_names(sol)
    redefined = redefined_name(sol, tests)
    if redefined:
        return f"tests redefine {redefined}"
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
