"""Python: the program and its tests run in the forked child's own interpreter, so a program costs one fork.

Standard library only at module level: the worker loads this file by path inside the sandbox.

A program may ask for checks, measured while it runs and reported with its outcome:
  asserts   every `assert` statement and `assert*()` call statement of the tests is rewritten (same lines, same
            behaviour) to count how often it ran, how often it failed, and how often the value it tested was not a
            bool (a truthiness check of a number, a list, an object); one call per assert run
  coverage  lines and branches of the program's own code executed by the whole run (see `_Coverage`)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

# Modules that model-written code imports most; importing them once in the worker saves every child ~20 ms.
# Left out on purpose: `random` reseeds and `threading` rebuilds its locks in every forked child (~0.5 ms each),
# a cost every program would pay for the few that import them.
_PRELOAD = (
    "abc", "array", "bisect", "cmath", "collections", "contextlib", "copy", "dataclasses", "datetime", "decimal",
    "enum", "fractions", "functools", "hashlib", "heapq", "io", "itertools", "json", "math", "numbers", "operator",
    "pathlib", "re", "string", "struct", "textwrap", "time", "traceback", "types", "typing", "unittest",
    "linecache", "ast",
)  # fmt: skip
_MAX_SITES = 4096  # assert sites instrumented per program; more would only bloat the report
_HOOK = "__codealign_assert__"
_FAIL_HOOK = "__codealign_assert_failed__"
_PASS_HOOK = "__codealign_assert_passed__"
_ASSERTION = "__codealign_assertion_error__"


class PythonRunner:
    """Host half: the engine's worker already is a Python interpreter, so there is nothing extra to bind."""

    name = "python"
    child_file = __file__

    def available(self) -> bool:
        return True

    def runtime_version(self) -> str:
        return f"{sys.implementation.name} {sys.version.split()[0]}"

    def binds(self) -> list[str]:
        return []


# ---------------------------------------------------------------------------------------------------------------
# Child half


def preload() -> None:
    import importlib

    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _text(obj: object, limit: int = 2000) -> str:
    # str() runs the program's own __str__, which may raise or return anything.
    try:
        text = str(obj)
    except BaseException:
        return f"<unprintable {type(obj).__name__}>"
    if not isinstance(text, str):
        return f"<unprintable {type(obj).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _where(exc: BaseException, sources: dict[str, list[str]]) -> tuple[str, str]:
    """The innermost line of the program or its tests that the exception passed through."""
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        lines = sources.get(frame.filename)
        if lines is not None and frame.lineno and 0 < frame.lineno <= len(lines):
            return f"{frame.filename} line {frame.lineno}", lines[frame.lineno - 1].strip()
    return "", ""


def _finish(token_fd: int, report: dict, passed: bool) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    data = b"\n" + json.dumps(report).encode() + b"\n"
    try:
        while data:
            data = data[os.write(token_fd, data) :]
    except OSError:
        pass
    os._exit(0 if passed else 1)


# ---------------------------------------------------------------------------------------------------------------
# Checks


def _assert_call(func: object) -> bool:
    import ast

    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name.startswith("assert") and not name.startswith("assertion")


def _instrument_asserts(tests: str, sites: list) -> object:
    """The tests' syntax tree with every assert site counting into `sites` ([line, col, runs, failures, non_bool])."""
    import ast

    tree = ast.parse(tests, "<tests>")

    def name(ident: str) -> ast.Name:
        return ast.Name(ident, ast.Load())

    class Rewrite(ast.NodeTransformer):
        def visit_Assert(self, node: ast.Assert) -> ast.AST:
            if len(sites) >= _MAX_SITES:
                return node
            sites.append([node.lineno, node.col_offset, 0, 0, 0])
            # `assert T, M` -> `assert hook(k, T), M`: the hook counts and returns bool(T), evaluated once.
            node.test = ast.copy_location(ast.Call(name(_HOOK), [ast.Constant(len(sites) - 1), node.test], []), node.test)
            return node

        def visit_Expr(self, node: ast.Expr) -> ast.AST:
            call = node.value
            if isinstance(call, ast.Call) and _assert_call(call.func):  # self.assertEqual(a, b)
                return self.counted(node)
            return node  # an expression holds no statements: nothing below to rewrite

        def visit_With(self, node: ast.With) -> ast.AST:
            self.generic_visit(node)
            first = node.items[0].context_expr
            if isinstance(first, ast.Call) and _assert_call(first.func):  # with self.assertRaises(E): ...
                return self.counted(node)
            return node

        def counted(self, node: ast.stmt) -> ast.stmt:
            """try: <node>; except AssertionError: count a failure, re-raise; else: count a run."""
            if len(sites) >= _MAX_SITES:
                return node
            sites.append([node.lineno, node.col_offset, 0, 0, 0])
            k = ast.Constant(len(sites) - 1)
            fail = [ast.Expr(ast.Call(name(_FAIL_HOOK), [k], [])), ast.Raise()]
            counted = ast.Try(
                body=[node],
                handlers=[ast.ExceptHandler(name(_ASSERTION), None, fail)],
                orelse=[ast.Expr(ast.Call(name(_PASS_HOOK), [k], []))],
                finalbody=[],
            )
            return ast.copy_location(counted, node)

    return ast.fix_missing_locations(Rewrite().visit(tree))


def _install_assert_hooks(builtins: object, sites: list) -> None:
    def hook(k: int, value: object) -> bool:
        site = sites[k]
        site[2] += 1
        if type(value).__name__ not in ("bool", "bool_"):  # numpy's bool_ is a bool too
            site[4] += 1
        ok = bool(value)
        if not ok:
            site[3] += 1
        return ok

    def failed(k: int) -> None:
        sites[k][2] += 1
        sites[k][3] += 1

    def passed(k: int) -> None:
        sites[k][2] += 1

    setattr(builtins, _HOOK, hook)
    setattr(builtins, _FAIL_HOOK, failed)
    setattr(builtins, _PASS_HOOK, passed)
    setattr(builtins, _ASSERTION, AssertionError)


def execute(request: dict, token_fd: int, nonce: str) -> None:
    import builtins
    import linecache
    import traceback
    import types

    code = request["code"]
    tests = request.get("tests") or ""
    sys.argv[:] = ["<program>"]
    sys.path[0] = ""
    sources = {"<program>": code.splitlines(), "<tests>": tests.splitlines()}
    for name, text in (("<program>", code), ("<tests>", tests)):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)

    wanted = request.get("checks") or ()
    sites: list | None = [] if "asserts" in wanted else None

    def report(status: str, **fields: object) -> dict:
        out = {"nonce": nonce, "status": status, **fields}
        if wanted:
            measured: dict = {}
            if sites is not None:
                measured["asserts"] = sites
            out["checks"] = measured
        return out

    try:
        program = compile(code, "<program>", "exec", dont_inherit=True)
        test_code = None
        if tests.strip():
            source = _instrument_asserts(tests, sites) if sites is not None else tests
            test_code = compile(source, "<tests>", "exec", dont_inherit=True)
    except MemoryError:
        _finish(
            token_fd, report("memory", error_type="MemoryError", error="out of memory while compiling"), False
        )
    except (SyntaxError, ValueError, OverflowError, RecursionError) as exc:
        traceback.print_exception(exc, limit=0)
        _finish(token_fd, report("syntax", error_type=type(exc).__name__, error=_text(exc)), False)

    # A real __main__ module, so unittest.main(), pickle and multiprocessing find what the program defined.
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    if sites is not None:
        _install_assert_hooks(builtins, sites)
    namespace = main.__dict__
    phase = "program"
    try:
        exec(program, namespace)
        if test_code is not None:
            phase = "tests"
            exec(test_code, namespace)
    except SystemExit as exc:
        status = exc.code
        ok = status is None or (type(status) in (int, bool) and status == 0)
        # Only unittest.main's own clean exit finishes the tests: a bare sys.exit(0) in the tests, or one from the
        # code under test, skips whatever asserts were left.
        frames = traceback.extract_tb(exc.__traceback__)
        by_unittest = any(f.filename.endswith(os.path.join("unittest", "main.py")) for f in frames)
        finished = phase == "tests" and by_unittest or test_code is None and phase == "program"
        if ok and finished:
            _finish(token_fd, report("passed"), True)
        shown = status if type(status) in (int, bool, str) or status is None else type(status).__name__
        what = "before its tests finished" if ok else f"with status {shown!r} in its {phase}"
        _finish(token_fd, report("failed", error_type="SystemExit", error=f"exited {what}"), False)
    except MemoryError:
        _finish(
            token_fd, report("memory", error_type="MemoryError", error=f"out of memory in the {phase}"), False
        )
    except BaseException as exc:
        # Skip this harness's own frame: the traceback starts in the program.
        with contextlib.suppress(BaseException):
            traceback.print_exception(
                type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None
            )
        message = _text(exc)
        where, line = _where(exc, sources)
        if not message and line:
            message = line
        if where:
            message = f"{message} ({where})" if message else where
        _finish(token_fd, report("failed", error_type=type(exc).__name__, error=message), False)
    _finish(token_fd, report("passed"), True)
