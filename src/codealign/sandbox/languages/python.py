"""Python: the program and its tests run in the forked child's own interpreter, so a program costs one fork.

Standard library only at module level: the worker loads this file by path inside the sandbox.
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
    "linecache",
)  # fmt: skip


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

    def report(status: str, **fields: object) -> dict:
        return {"nonce": nonce, "status": status, **fields}

    try:
        program = compile(code, "<program>", "exec", dont_inherit=True)
        checks = compile(tests, "<tests>", "exec", dont_inherit=True) if tests.strip() else None
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
    namespace = main.__dict__
    phase = "program"
    try:
        exec(program, namespace)
        if checks is not None:
            phase = "tests"
            exec(checks, namespace)
    except SystemExit as exc:
        status = exc.code
        ok = status is None or (type(status) in (int, bool) and status == 0)
        # Only unittest.main's own clean exit finishes the tests: a bare sys.exit(0) in the tests, or one from the
        # code under test, skips whatever asserts were left.
        frames = traceback.extract_tb(exc.__traceback__)
        by_unittest = any(f.filename.endswith(os.path.join("unittest", "main.py")) for f in frames)
        finished = phase == "tests" and by_unittest or checks is None and phase == "program"
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
