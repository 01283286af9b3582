"""Shell (bash): the program and its tests are one script, run by one bash process, parsed whole before it starts.

The script is wrapped in a `{ ... }` group, which bash parses completely before running any of it, so a script that
does not parse never starts (`syntax`), at the cost of no second process for a `bash -n` check; line numbers are
unchanged. The group's first command marks the start and a line after the tests writes the pass report, so a
script that exits early (`exit 0`) or stops at a failing check (`set -e`, `[[ ... ]] || exit 1`) does not pass; a test
line that fails without stopping the script does not fail it either, as in bash itself, so tests should stop on a
failed check.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain, command_output, find


class ShellRunner(Toolchain):
    """Host half: bash, from /usr (Debian package bash)."""

    name = "shell"
    child_file = __file__
    tools = ("bash",)
    package = "bash"
    compile_limits = None  # nothing to build

    def runtime_version(self) -> str:
        bash = find("bash")
        return command_output(bash, "--version") if bash else "bash (missing)"

    def child_config(self) -> dict:
        return {"bash": find("bash")}


# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    if not _CONFIG.get("bash"):
        _CONFIG["bash"] = shutil.which("bash") or "/bin/bash"


def _mark(status: str, nonce: str) -> str:
    return f"printf '\\n{{\"nonce\": \"%s\", \"status\": \"{status}\"}}\\n' {nonce} >&3"


def execute(request: dict, token_fd: int, nonce: str) -> None:
    bash = _CONFIG["bash"]
    with open("main.sh", "w", encoding="utf-8") as fh:
        # `{ ` and the start mark share the first line, so every line keeps its number (a `#!` becomes a comment).
        fh.write("{ " + _mark("started", nonce) + "; " + request["code"] + "\n" + (request.get("tests") or ""))
        fh.write("\n" + _mark("passed", nonce) + "\n}\n")
    os.set_inheritable(token_fd, True)  # the script's file descriptor 3, which the marks are written to
    os.execv(bash, [bash, "main.sh"])


def refine(result: dict) -> dict:
    status, code = result.get("status"), result.get("exit_code")
    stderr = result.get("stderr", "")
    if status == "started":  # it ran, but never reached the end of its tests
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return {**result, "status": "crashed", "error": f"killed by signal {name}"}
        if code == 0:
            return {**result, "status": "crashed", "error": "exited with status 0 before its tests finished"}
        status, result = "failed", {**result, "status": "failed", "error": f"exited with status {code}"}
    elif status in ("failed", "crashed") and code == 2 and "syntax error" in stderr:
        # No start mark: bash could not parse the script, and ran none of it.
        message = "\n".join(line for line in stderr.strip().splitlines() if line)[:2000]
        return {**result, "status": "syntax", "error_type": "SyntaxError", "error": message}
    if status in ("failed", "crashed") and ("xmalloc" in stderr or "xrealloc" in stderr or "cannot allocate" in stderr):
        return {**result, "status": "memory", "error_type": "MemoryError", "error": "out of memory"}
    return result
