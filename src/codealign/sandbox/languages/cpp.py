"""C++ (g++, C++17): the program and its tests are one translation unit with a `main`, built, then run.

A second, tiny translation unit wraps `main` at link time (`-Wl,--wrap=main`): when `main` returns 0 it writes the
pass report. So `exit(0)` before the tests end is not a pass, and nothing is added to the program's own source.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import re

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain

_FLAGS = ("-std=c++17",)  # MultiPL-E's flags; no optimisation, as there

# Compiled apart from the program, so its macros, `using` declarations and names never meet ours.
_WRAPPER = r"""
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
extern "C" int __real_main(int, char **, char **);
extern "C" int __wrap_main(int argc, char **argv, char **envp) {
    // Line by line, as on a terminal: what a program printed before an assert aborted it is kept.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    int status = __real_main(argc, argv, envp);
    const char *nonce = std::getenv("CODEALIGN_NONCE");
    if (status == 0 && nonce != nullptr) {
        char line[160];
        int n = std::snprintf(line, sizeof line, "\n{\"nonce\": \"%.64s\", \"status\": \"passed\"}\n", nonce);
        if (n > 0 && write(3, line, (size_t)n) < 0) return status;
    }
    return status;
}
"""


class CppRunner(Toolchain):
    """Host half: g++ from /usr (Debian package g++)."""

    name = "cpp"
    child_file = __file__
    tools = ("g++",)
    package = "g++"


# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    pass


def compile(request: dict) -> None:
    with open("main.cpp", "w", encoding="utf-8") as fh:
        fh.write(request["code"] + "\n" + (request.get("tests") or "") + "\n")
    with open(".codealign_main.cpp", "w", encoding="utf-8") as fh:
        fh.write(_WRAPPER)
    os.makedirs("build", exist_ok=True)
    gxx = _CONFIG.get("g++") or "/usr/bin/g++"
    os.execv(gxx, [gxx, *_FLAGS, "-o", "build/prog", "main.cpp", ".codealign_main.cpp", "-Wl,--wrap=main"])


def execute(request: dict, token_fd: int, nonce: str) -> None:
    os.set_inheritable(token_fd, True)
    os.execve("build/prog", ["prog"], dict(os.environ, CODEALIGN_NONCE=nonce))


def compiled(raw: dict, verdict: dict | None) -> dict | None:
    text = raw["stderr"] + raw["stdout"]
    if verdict is not None and ("virtual memory exhausted" in text or "out of memory allocating" in text):
        return {**verdict, "status": "memory", "error_type": "CompileMemory",
                "error": "the compiler ran out of memory"}  # fmt: skip
    return verdict


_ASSERT = re.compile(r"Assertion `(.*)' failed\.")
_THROW = re.compile(r"terminate called after throwing an instance of '([^']+)'(?:\s+what\(\):\s*(.*))?")


def refine(result: dict) -> dict:
    """An `assert` or an uncaught exception aborts the process; both are the program failing, not crashing."""
    if result.get("status") != "crashed":
        return result
    stderr = result.get("stderr", "")
    found = _ASSERT.search(stderr)
    if found:
        return {**result, "status": "failed", "error_type": "AssertionError", "error": found.group(1)}
    found = _THROW.search(stderr)
    if found:
        kind, what = found.group(1), (found.group(2) or "").strip()
        if kind == "std::bad_alloc":
            return {**result, "status": "memory", "error_type": kind, "error": "out of memory"}
        return {**result, "status": "failed", "error_type": kind, "error": what or kind}
    return result
