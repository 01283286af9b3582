"""Shell (bash): the program and its tests are one script; `bash -n` checks it first, then bash runs it.

A line after the tests writes the pass report, so a script that exits early (`exit 0`) or stops at a failing check
(`set -e`, `[[ ... ]] || exit 1`) does not pass; a test line that fails without stopping the script does not fail
it either, as in bash itself, so tests should stop on a failed check.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil

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
    compile_limits = None  # nothing to build: `bash -n` checks the script in the same child

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


def _report(token_fd: int, fields: dict) -> None:
    data = ("\n" + json.dumps(fields) + "\n").encode()
    while data:
        data = data[os.write(token_fd, data) :]


def execute(request: dict, token_fd: int, nonce: str) -> None:
    bash = _CONFIG["bash"]
    with open("main.sh", "w", encoding="utf-8") as fh:
        fh.write(request["code"] + "\n" + (request.get("tests") or "") + "\n")
        fh.write(f"printf '\\n{{\"nonce\": \"%s\", \"status\": \"passed\"}}\\n' {nonce} >&3\n")
    # The syntax check: a child of ours, so a script that does not parse never starts.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.dup2(write_end, 2)
        os.execv(bash, [bash, "-n", "main.sh"])
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        message = b"".join(chunks).decode("utf-8", "replace").strip()
        os.write(2, message.encode() + b"\n")
        _report(token_fd, {"nonce": nonce, "status": "syntax", "error_type": "SyntaxError", "error": message[:2000]})
        os._exit(2)
    os.set_inheritable(token_fd, True)  # the script's file descriptor 3, which its last line writes to
    os.execv(bash, [bash, "main.sh"])


def refine(result: dict) -> dict:
    stderr = result.get("stderr", "")
    if result.get("status") in ("failed", "crashed") and (
        "cannot allocate" in stderr or "xmalloc" in stderr or "xrealloc" in stderr
    ):  # fmt: skip
        return {**result, "status": "memory", "error_type": "MemoryError", "error": "out of memory"}
    return result
