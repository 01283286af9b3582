"""TypeScript: `tsc` checks and compiles the program and its tests to JavaScript, which then runs as JavaScript does.

A type error is a compile error (`syntax`), as in MultiPL-E. Programs are checked against the ES2022 library and a
small file of loosely typed Node.js globals (`console`, `require`, `process`, timers, the `assert` module) rather
than the DOM's or `@types/node`'s thousands of declarations, which would triple the time tsc takes. The run reuses the
JavaScript runner's child half (uncaught errors, the pass report, V8's out-of-memory abort).
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import sys

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain, command_output, find, outside_usr

_FLAGS = ("--target", "es2022", "--lib", "es2022", "--module", "commonjs", "--esModuleInterop", "--skipLibCheck",
          "--pretty", "false", "--outDir", "build")  # fmt: skip

_GLOBALS = """// Node.js globals, loosely typed (see codealign/sandbox/languages/typescript.py).
declare var console: any;
declare var process: any;
declare var require: any;
declare var module: any;
declare var exports: any;
declare var Buffer: any;
declare var __dirname: string;
declare var __filename: string;
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearTimeout(handle?: any): void;
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearInterval(handle?: any): void;
declare function setImmediate(callback: (...args: any[]) => void, ...args: any[]): any;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare module "assert" { const assert: any; export = assert; }
declare module "node:assert" { const assert: any; export = assert; }
declare module "assert/strict" { const assert: any; export = assert; }
declare module "node:assert/strict" { const assert: any; export = assert; }
"""


class TypeScriptRunner(Toolchain):
    """Host half: `tsc` (Debian package node-typescript, or `npm install -g typescript`) and node."""

    name = "typescript"
    child_file = __file__
    tools = ("tsc", "node")
    package = "node-typescript"
    requires = ("javascript",)

    def _tsc_js(self) -> str | None:
        tsc = find("tsc")  # bin/tsc of the typescript package; its compiler is lib/tsc.js next to it
        if tsc is None:
            return None
        script = os.path.join(os.path.dirname(os.path.dirname(tsc)), "lib", "tsc.js")
        return script if os.path.isfile(script) else None

    def available(self) -> bool:
        return super().available() and self._tsc_js() is not None

    def runtime_version(self) -> str:
        node, tsc_js = find("node"), self._tsc_js()
        if node is None or tsc_js is None:
            return "tsc (missing)"
        return f"tsc {command_output(node, tsc_js, '--version')}; node {command_output(node, '--version')}"

    def binds(self) -> list[str]:
        tsc_js = self._tsc_js()
        package = os.path.dirname(os.path.dirname(tsc_js)) if tsc_js else None
        return [package] if package and outside_usr(package + "/") else []

    def child_config(self) -> dict:
        return {"node": find("node"), "tsc_js": self._tsc_js()}


# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    pass


def compile(request: dict) -> None:
    with open("main.ts", "w", encoding="utf-8") as fh:
        fh.write(request["code"] + "\n;\n" + (request.get("tests") or "") + "\n")
    with open("codealign-globals.d.ts", "w", encoding="utf-8") as fh:
        fh.write(_GLOBALS)
    node, tsc_js = _CONFIG["node"], _CONFIG["tsc_js"]
    heap_mb = max(64, request["limits"]["memory_mb"] // 2)
    os.execv(node, [node, f"--max-old-space-size={heap_mb}", tsc_js, *_FLAGS, "main.ts", "codealign-globals.d.ts"])


def execute(request: dict, token_fd: int, nonce: str) -> None:
    with open(os.path.join("build", "main.js"), encoding="utf-8") as fh:
        source = fh.read()
    javascript = sys.modules["codealign_lang_javascript"]
    javascript.run_node(source + "\n;\n", request, token_fd, nonce)


def compiled(raw: dict, verdict: dict | None) -> dict | None:
    if verdict is not None and "heap out of memory" in raw["stderr"]:
        return {**verdict, "status": "memory", "error_type": "CompileMemory",
                "error": "the compiler ran out of memory"}  # fmt: skip
    return verdict


def refine(result: dict) -> dict:
    return sys.modules["codealign_lang_javascript"].refine(result)
