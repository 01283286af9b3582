"""Go: the program and its tests are one file, built (`go build`, or `go test -c` for `testing` tests), then run.

Two layouts: `package main` with a `func main()` that checks and panics, or `func TestXxx(t *testing.T)` functions in
any package (MultiPL-E's layout, run by `go test`). A second file of the same package reports the end: a `main` that
calls the program's own (renamed) `main` then writes the pass report, or a `TestMain` that writes it when every test
passed. So `os.Exit(0)` before the tests end is not a pass. Builds are offline (`GOPROXY=off`, standard library only) and skip `go vet`. The Go runtime reserves about
700 MiB of address space before `main` runs, so Go programs need `memory_mb` of 1024 or more.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import re

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain, command_output, find, outside_usr

_PACKAGE = re.compile(r"^\s*package\s+(\w+)", re.MULTILINE)
_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.MULTILINE)
_TEST = re.compile(r"^func\s+Test\w*\s*\(\s*\w+\s+\*testing\.T\s*\)", re.MULTILINE)
_TEST_MAIN = re.compile(r"^func\s+TestMain\s*\(", re.MULTILINE)

_REPORT = """
func codealignReport() {
	report := os.NewFile(3, "report")
	report.WriteString("\\n{\\"nonce\\": \\"" + os.Getenv("CODEALIGN_NONCE") + "\\", \\"status\\": \\"passed\\"}\\n")
}
"""
_MAIN_FILE = "package main\n\nimport \"os\"\n\nfunc main() {\n\tcodealignMain()\n\tcodealignReport()\n}\n" + _REPORT
_TEST_FILE = """package {package}

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {{
	code := m.Run()
	if code == 0 {{
		codealignReport()
	}}
	os.Exit(code)
}}
""" + _REPORT.replace("{", "{{").replace("}", "}}")


class GoRunner(Toolchain):
    """Host half: the go command (Debian package golang-go); a GOROOT outside /usr is bound into the jail."""

    name = "go"
    child_file = __file__
    tools = ("go",)
    package = "golang-go"

    def runtime_version(self) -> str:
        go = find("go")
        return command_output(go, "version") if go else "go (missing)"

    def binds(self) -> list[str]:
        go = find("go")
        goroot = command_output(go, "env", "GOROOT") if go else ""
        return [goroot] if goroot and outside_usr(goroot + "/") else []


# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}
_ENV = {"GOCACHE": ".gocache", "GOPATH": ".gopath", "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": "",
        "GOTOOLCHAIN": "local", "GOTELEMETRY": "off", "GO111MODULE": "", "GOWORK": "off"}  # fmt: skip


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    pass


def compile(request: dict) -> None:
    source = request["code"] + "\n" + (request.get("tests") or "") + "\n"
    found = _PACKAGE.search(source)
    package = found.group(1) if found else "main"
    go = _CONFIG.get("go") or "/usr/bin/go"
    workdir = os.getcwd()
    env = dict(os.environ, **{k: os.path.join(workdir, v) if v.startswith(".") else v for k, v in _ENV.items()})
    os.makedirs("build", exist_ok=True)
    if package == "main" and not _TEST.search(source):
        if _MAIN.search(source):
            source = _MAIN.sub("func codealignMain()", source, count=1)
            _write("codealign_main.go", _MAIN_FILE)
            files = ["main.go", "codealign_main.go"]
        else:  # let the compiler say what is missing
            files = ["main.go"]
        _write("main.go", source)
        argv = [go, "build", "-o", "build/prog", *files]
    else:
        _write("main_test.go", source)
        files = ["main_test.go"]
        if not _TEST_MAIN.search(source):
            _write("codealign_test.go", _TEST_FILE.format(package=package))
            files.append("codealign_test.go")
        # No vet: `go test` would run it first, at five times the cost of the build.
        argv = [go, "test", "-c", "-vet=off", "-o", "build/prog", *files]
    os.execve(go, argv, env)


def _write(name: str, text: str) -> None:
    with open(name, "w", encoding="utf-8") as fh:
        fh.write(text)


def execute(request: dict, token_fd: int, nonce: str) -> None:
    os.set_inheritable(token_fd, True)
    os.execve("build/prog", ["prog"], dict(os.environ, CODEALIGN_NONCE=nonce, GOTRACEBACK="single"))


_FAILED_TEST = re.compile(r"^\s*--- FAIL: (\S+).*\n((?:\s{4,}.*\n?)*)", re.MULTILINE)


def refine(result: dict) -> dict:
    """A panic or a failed test is the program failing; the runtime's out-of-memory abort is memory."""
    stderr, stdout = result.get("stderr", ""), result.get("stdout", "")
    if result.get("status") not in ("failed", "crashed"):
        return result
    if "failed to reserve page summary memory" in stderr or "runtime: out of memory" in stderr[:4096]:
        # The runtime reserves about 700 MiB of address space before main runs; below that it cannot start.
        return {**result, "status": "memory", "error_type": "OutOfMemory", "error": "out of memory"}
    for line in stderr.splitlines():
        if line.startswith("panic: "):
            return {**result, "status": "failed", "error_type": "panic", "error": line[len("panic: ") :].strip()}
    failures = _FAILED_TEST.findall(stdout)
    if failures:
        details = "; ".join(f"{name}: {' '.join(body.split())}" if body.strip() else name for name, body in failures)
        return {**result, "status": "failed", "error_type": "TestFailure", "error": details[:2000]}
    return result
