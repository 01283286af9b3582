"""JavaScript (Node.js): the forked child writes the program and a small prelude, then becomes `node`.

The prelude checks the source compiles (a syntax error is `syntax`, before anything runs), reports an uncaught
exception or rejected promise as `failed` with its name and message, and the line appended after the tests writes the
pass report. Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import lru_cache

_PRELUDE = """'use strict';
const fs = require('fs');
const report = (obj) => {
  try { fs.writeSync(3, '\\n' + JSON.stringify(Object.assign({nonce: NONCE}, obj)) + '\\n'); } catch (e) {}
};
const fail = (err) => {
  report({status: 'failed', error_type: (err && err.name) || typeof err, error: String((err && err.message) || err)});
  try { process.stderr.write(String((err && err.stack) || err) + '\\n'); } catch (e) {}
  process.exit(1);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
try {
  new (require('vm').Script)(require('module').wrap(fs.readFileSync(MAIN, 'utf8')), {filename: MAIN});
} catch (err) {
  report({status: 'syntax', error_type: err.name, error: String(err.message)});
  try { process.stderr.write(String(err.stack) + '\\n'); } catch (e) {}
  process.exit(1);
}
"""


@lru_cache(maxsize=1)
def _node_version(node: str) -> str:
    # Imported here, not at the top: `subprocess` brings `threading`, whose fork hook every forked child would run.
    import subprocess

    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


class JavaScriptRunner:
    """Host half: finds `node` and binds its installation when it lives outside /usr."""

    name = "javascript"
    child_file = __file__

    def _node(self) -> str | None:
        found = shutil.which("node") or shutil.which("nodejs")
        return os.path.realpath(found) if found else None

    def available(self) -> bool:
        return self._node() is not None

    def runtime_version(self) -> str:
        node = self._node()
        return f"node {_node_version(node)}" if node else "node (missing)"

    def binds(self) -> list[str]:
        node = self._node()
        if node is None or node.startswith("/usr/"):
            return []
        return [os.path.dirname(os.path.dirname(node))]  # e.g. an nvm or tarball install: bin/ and lib/

    def missing(self) -> str:
        return "language 'javascript' needs `node`: install the Debian package nodejs (apt-get install nodejs)"

    def child_config(self) -> dict:
        return {"node": self._node()}


# ---------------------------------------------------------------------------------------------------------------
# Child half

_NODE: list[str] = []


def configure(config: dict) -> None:
    if config.get("node"):  # found on the host's PATH, which may reach outside the jail's
        _NODE.append(config["node"])


def preload() -> None:
    found = shutil.which("node") or shutil.which("nodejs")
    if found and not _NODE:
        _NODE.append(os.path.realpath(found))


def execute(request: dict, token_fd: int, nonce: str) -> None:
    run_node(request["code"] + "\n;\n" + (request.get("tests") or "") + "\n;\n", request, token_fd, nonce)


def run_node(source: str, request: dict, token_fd: int, nonce: str) -> None:
    """Write `source` and the line that reports its end, and become node with the prelude (TypeScript uses this)."""
    if not _NODE:
        os.write(2, b"node is not installed in this sandbox\n")
        os._exit(127)
    main = "main.js"
    with open(main, "w", encoding="utf-8") as fh:
        fh.write(source)
        fh.write(
            f"require('fs').writeSync(3, '\\n' + JSON.stringify({{nonce: {json.dumps(nonce)}, status: 'passed'}}) + '\\n');\n"
        )
    prelude = os.path.abspath(".prelude.js")
    with open(prelude, "w", encoding="utf-8") as fh:
        fh.write(
            f"const NONCE = {json.dumps(nonce)};\nconst MAIN = {json.dumps(os.path.abspath(main))};\n"
            + _PRELUDE
        )
    os.set_inheritable(token_fd, True)
    # V8 collects ever harder as its heap nears the limit; a heap cap well inside the address-space limit makes a
    # memory bomb end in seconds instead of after minutes of collection.
    heap_mb = max(16, request["limits"]["memory_mb"] // 2)
    os.execv(_NODE[0], [_NODE[0], f"--max-old-space-size={heap_mb}", "-r", prelude, main])


def refine(result: dict) -> dict:
    """V8 aborts when its heap is full, or cannot reserve its address space; that is memory, not a crash."""
    stderr = result.get("stderr", "")
    if result.get("status") == "crashed" and (
        "heap out of memory" in stderr or "Fatal process OOM" in stderr
    ):
        return {**result, "status": "memory", "error": "JavaScript heap out of memory"}
    return result
