"""Python: the program and its tests run in the forked child's own interpreter, so a program costs one fork.

Standard library only at module level: the worker loads this file by path inside the sandbox.

A program may ask for checks, measured while it runs and reported with its outcome:
  asserts   every `assert` statement and `assert*()` call statement of the tests is rewritten (same lines, same
            behaviour) to count how often it ran, how often it failed, and how often the value it tested was not a
            bool (a truthiness check of a number, a list, an object); one call per assert run
  coverage  lines and branches of the program's own code executed by the whole run, its tests included (see
            `_Coverage`); a line event per line run, so it is measured in a run of its own, not the one that
            decides pass or fail
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
_MAX_PREPARED = 1 << 16  # larger tests are rewritten in the child, under its limits, not in the worker
_HOOK = "__codealign_assert__"
_CALL_HOOK = "__codealign_assert_call__"
_WITH_HOOK = "__codealign_assert_with__"


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


def count_asserts(tests: str) -> tuple[str, list[tuple[int, int]]]:
    """The tests rewritten so that every assert site counts its runs, and the sites' (line, column).

    The rewrite inserts text on the sites' own lines, so every line keeps its number:
      assert T, M                  ->  assert __codealign_assert__(k, (T)), M
      self.assertEqual(a, b)       ->  __codealign_assert_call__(k, lambda: self.assertEqual(a, b))
      with self.assertRaises(E):   ->  with __codealign_assert_with__(k), self.assertRaises(E):
    Raises SyntaxError (and the like) for tests that do not parse: those are compiled as they are, and fail so.
    """
    import ast
    import re

    tree = ast.parse(tests, "<tests>")
    sites: list[tuple[int, int]] = []
    edits: list[tuple[int, int, int, str]] = []  # (line, byte column, order at that spot, text)

    def wrap(node: ast.AST, head: str, tail: str) -> None:
        edits.append((node.lineno, node.col_offset, 1, head))
        if tail:
            edits.append((node.end_lineno, node.end_col_offset, 0, tail))  # type: ignore[arg-type]

    def visit(body: list) -> None:
        for node in body:
            if len(sites) >= _MAX_SITES:
                return
            if isinstance(node, ast.Assert):
                sites.append((node.lineno, node.col_offset))
                wrap(node.test, f"{_HOOK}({len(sites) - 1}, (", "))")
                continue
            if isinstance(node, ast.Expr):
                if isinstance(node.value, ast.Call) and _assert_call(node.value.func):
                    sites.append((node.lineno, node.col_offset))
                    wrap(node.value, f"{_CALL_HOOK}({len(sites) - 1}, lambda: ", ")")
                continue
            if isinstance(node, ast.With):
                first = node.items[0].context_expr
                if isinstance(first, ast.Call) and _assert_call(first.func):
                    sites.append((node.lineno, node.col_offset))
                    wrap(first, f"{_WITH_HOOK}({len(sites) - 1}), ", "")
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(node, name, None)
                if isinstance(inner, list):
                    visit(inner)
            for part in getattr(node, "handlers", ()) or getattr(node, "cases", ()):
                visit(part.body)

    visit(tree.body)
    if not edits:
        return tests, sites
    lines = re.split(r"(?<=\n)", tests)  # only "\n" ends a line for the parser (str.splitlines knows more)
    by_line: dict[int, list[tuple[int, int, str]]] = {}
    for line, col, order, text in edits:
        by_line.setdefault(line, []).append((col, order, text))
    for line, changes in by_line.items():
        raw = lines[line - 1].encode()  # columns are UTF-8 byte offsets
        for col, _, text in sorted(changes, reverse=True):
            raw = raw[:col] + text.encode() + raw[col:]
        lines[line - 1] = raw.decode()
    return "".join(lines), sites


def prepare(request: dict) -> dict:
    """Runs in the worker, before the program's child takes the request: the assert rewrite happens here, in a
    warm process, instead of in each freshly forked child where every object it allocates costs a page fault."""
    tests = request.get("tests") or ""
    if "asserts" not in (request.get("checks") or ()) or not tests.strip() or len(tests) > _MAX_PREPARED:
        return request
    try:
        counted, sites = count_asserts(tests)
    except Exception:  # the child compiles the tests as they are and reports what is wrong with them
        return request
    return {**request, "counted_tests": counted, "sites": sites}


def _compile_counted(request: dict, tests: str, sites: list) -> object:
    """The tests with their asserts counted (rewritten by the worker, or here), or None: compile them as they are."""
    if "counted_tests" in request:
        source, positions = request["counted_tests"], request["sites"]
    else:
        try:
            source, positions = count_asserts(tests)
        except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
            return None  # compiling the tests as they are raises the error the outcome reports
    try:
        code = compile(source, "<tests>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return None  # a rewrite gone wrong must not change the outcome: the tests run uncounted
    sites.extend([line, col, 0, 0, 0] for line, col in positions)
    return code


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

    def call(k: int, check: object) -> object:
        try:
            result = check()  # type: ignore[operator]
        except AssertionError:
            sites[k][2] += 1
            sites[k][3] += 1
            raise
        sites[k][2] += 1
        return result

    class With:
        def __init__(self, k: int) -> None:
            self.k = k

        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: object, exc: object, tb: object) -> bool:
            sites[self.k][2] += 1
            if isinstance(exc, AssertionError):
                sites[self.k][3] += 1
            return False

    setattr(builtins, _HOOK, hook)
    setattr(builtins, _CALL_HOOK, call)
    setattr(builtins, _WITH_HOOK, With)


class _Coverage:
    """Line and branch coverage of the program's own code, from `sys.settrace` line events.

    Lines: the lines of the program that hold code (from its code objects; docstrings left out), against those a line
    event reached. Branches: every `if`, `while` and `for` with a non-constant test has two outcomes, "into the body"
    (an arc from the test's lines to the body's first line) and "past it" (an arc from the test's lines anywhere
    else, a return included), as coverage.py measures arcs. A branch whose body starts on its test's line is not
    counted. Code run in other threads is not traced.

    A function whose lines and branch outcomes have all been seen has nothing left to tell, so it is traced no more
    (its running frames stop, its later calls start untraced): a helper called in a hot loop costs one call per
    frame instead of one per line. The figures are the same as tracing everything.
    """

    def __init__(self, tree: object, code: object) -> None:
        import ast

        docstrings: set[int] = set()
        self.points: list[tuple[int, int, int]] = []  # (first test line, last test line, first body line)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                doc = node.body[0]
                if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                    docstrings.update(range(doc.lineno, (doc.end_lineno or 0) + 1))
            if isinstance(node, (ast.If, ast.While)):
                if isinstance(node.test, ast.Constant):
                    continue
                first, last = node.test.lineno, node.test.end_lineno or node.test.lineno
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                first, last = node.lineno, node.iter.end_lineno or node.lineno
            else:
                continue
            entry = node.body[0]
            start = min([entry.lineno, *(d.lineno for d in getattr(entry, "decorator_list", ()))])
            if not first <= start <= last:
                self.points.append((first, last, start))
        self.at: dict[int, list[int]] = {}  # test line -> the points it belongs to
        for k, (first, last, _) in enumerate(self.points):
            for line in range(first, last + 1):
                self.at.setdefault(line, []).append(k)
        # What each function still has to show: its lines (a function's own def line makes no line event in it)
        # and the outcomes of the branches on its lines.
        self.lines: set[int] = set()
        self.missing: dict[object, set] = {}
        stack = [code]
        while stack:
            co = stack.pop()
            own = {line for _, _, line in co.co_lines() if line} - docstrings
            self.lines |= own
            if co is not code:
                need: set = own - {co.co_firstlineno}
                need.update((k, outcome) for line in own for k in self.at.get(line, ()) for outcome in (0, 1))
                self.missing[co] = need
            stack.extend(c for c in co.co_consts if hasattr(c, "co_lines"))
        self.arcs: set[int] = set()  # (from << 20) | to, with to = 0 for a return

    def _learn(self, co: object, last: int, line: int) -> bool:
        """Note what a new arc shows; True when the function has nothing left to show."""
        need = self.missing.get(co)
        if need is None:
            return False
        need.discard(line)
        for k in self.at.get(last, ()):
            first, end, start = self.points[k]
            if line == start:
                need.discard((k, 1))
            elif not first <= line <= end:
                need.discard((k, 0))
        return not need

    def start(self) -> None:
        import sys

        arcs = self.arcs
        done: set = set()
        learn = self._learn

        def trace(frame: object, event: str, arg: object) -> object:
            co = frame.f_code
            if co in done or co.co_filename != "<program>":
                return None
            last = [0]

            def local(frame: object, event: str, arg: object) -> object:
                if event == "line":
                    line = frame.f_lineno
                    arc = last[0] << 20 | line
                    if arc not in arcs:
                        arcs.add(arc)
                        if learn(co, last[0], line):
                            done.add(co)
                            return None
                    last[0] = line
                elif event == "return":
                    arc = last[0] << 20
                    if arc not in arcs:
                        arcs.add(arc)
                        if learn(co, last[0], 0):
                            done.add(co)
                return local

            return local

        sys.settrace(trace)

    def stop(self) -> dict:
        import sys

        sys.settrace(None)
        mask = (1 << 20) - 1
        reached = {arc & mask for arc in self.arcs}
        hit = self.lines & reached
        outs: dict[int, set[int]] = {}
        for arc in self.arcs:
            outs.setdefault(arc >> 20, set()).add(arc & mask)
        branches = 0
        for first, last, body in self.points:
            dests: set[int] = set()
            for line in range(first, last + 1):
                dests |= outs.get(line, set())
            dests -= set(range(first, last + 1))
            branches += (body in dests) + bool(dests - {body})
        return {
            "lines": len(self.lines), "lines_hit": len(hit), "branches": 2 * len(self.points),
            "branches_hit": branches, "missing_lines": sorted(self.lines - hit),
        }  # fmt: skip


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
    coverage: _Coverage | None = None

    def report(status: str, **fields: object) -> dict:
        out = {"nonce": nonce, "status": status, **fields}
        if wanted:
            measured: dict = {}
            if sites is not None:
                measured["asserts"] = sites
            if coverage is not None:
                measured["coverage"] = coverage.stop()
            out["checks"] = measured
        return out

    try:
        if "coverage" in wanted:
            import ast

            tree = ast.parse(code, "<program>")
            program = compile(tree, "<program>", "exec", dont_inherit=True)
            coverage = _Coverage(tree, program)
        else:
            program = compile(code, "<program>", "exec", dont_inherit=True)
        test_code = None
        if tests.strip() and sites is not None:
            test_code = _compile_counted(request, tests, sites)
        if tests.strip() and test_code is None:
            test_code = compile(tests, "<tests>", "exec", dont_inherit=True)
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
    if coverage is not None:
        coverage.start()
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
