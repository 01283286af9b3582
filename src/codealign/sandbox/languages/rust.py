"""Rust (rustc, edition 2021): the program and its tests are one crate, built, then run.

Tests are either a `fn main` with `assert!`s (MultiPL-E's layout) or, with no `main`, `#[test]` functions, which are
built with `rustc --test` and run by the standard test harness. The C `main` rustc generates is wrapped at link time
(`-Wl,--wrap=main`) by a function appended to the crate: when it returns 0 (every assertion held, no panic) it writes
the pass report, so `std::process::exit(0)` before the tests end is not a pass. A panic is `failed` with its message.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import re
import shutil

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain, command_output, outside_usr

_FLAGS = ("--edition", "2021", "-A", "warnings", "-C", "debuginfo=0", "-C", "strip=symbols",
          "-C", "link-arg=-Wl,--wrap=main")  # fmt: skip

_WRAPPER = r"""

#[no_mangle]
pub extern "C" fn __wrap_main(argc: i32, argv: *const *const u8, envp: *const *const u8) -> i32 {
    extern "C" {
        fn __real_main(argc: i32, argv: *const *const u8, envp: *const *const u8) -> i32;
    }
    let status = unsafe { __real_main(argc, argv, envp) };
    if status == 0 {
        if let Ok(nonce) = ::std::env::var("CODEALIGN_NONCE") {
            use ::std::io::Write;
            use ::std::os::unix::io::FromRawFd;
            let mut report = unsafe { ::std::fs::File::from_raw_fd(3) };
            let _ = write!(report, "\n{{\"nonce\": \"{}\", \"status\": \"passed\"}}\n", nonce);
        }
    }
    status
}
"""

_MAIN = re.compile(r"^\s*(pub\s+)?fn\s+main\s*\(", re.MULTILINE)
_TEST = re.compile(r"#\[\s*test\s*\]")


class RustRunner(Toolchain):
    """Host half: rustc (Debian package rustc, or a rustup toolchain, whose folder alone is bound into the jail)."""

    name = "rust"
    child_file = __file__
    tools = ("rustc",)
    package = "rustc"

    def _rustc(self) -> str | None:
        """The compiler itself: rustup's `rustc` is a proxy that needs ~/.rustup, so ask it where the real one is."""
        proxy = shutil.which("rustc")  # not its real path: rustup's proxies tell what to do by the name they run as
        if proxy is None:
            return None
        sysroot = command_output(proxy, "--print", "sysroot")
        real = os.path.join(sysroot, "bin", "rustc")
        return real if os.path.isfile(real) else proxy

    def runtime_version(self) -> str:
        rustc = self._rustc()
        return command_output(rustc, "--version") if rustc else "rustc (missing)"

    def binds(self) -> list[str]:
        rustc = self._rustc()
        sysroot = os.path.dirname(os.path.dirname(rustc)) if rustc else None
        return [sysroot] if sysroot and outside_usr(sysroot + "/") else []

    def child_config(self) -> dict:
        return {"rustc": self._rustc()}


# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    pass


def compile(request: dict) -> None:
    source = request["code"] + "\n" + (request.get("tests") or "") + "\n"
    harness = () if _MAIN.search(source) or not _TEST.search(source) else ("--test",)
    with open("main.rs", "w", encoding="utf-8") as fh:
        fh.write(source + _WRAPPER)
    os.makedirs("build", exist_ok=True)
    rustc = _CONFIG.get("rustc") or "/usr/bin/rustc"
    os.execv(rustc, [rustc, *_FLAGS, *harness, "-o", "build/prog", "main.rs"])


def execute(request: dict, token_fd: int, nonce: str) -> None:
    os.set_inheritable(token_fd, True)
    os.execve("build/prog", ["prog"], dict(os.environ, CODEALIGN_NONCE=nonce, RUST_BACKTRACE="0"))


_PANIC = re.compile(r"panicked at (?:'(.*?)', (\S+)|(\S+?):\n(.*))", re.DOTALL)


def refine(result: dict) -> dict:
    """A panic (exit status 101) is the program failing; an allocation failure aborts, and is memory."""
    stderr = result.get("stderr", "")
    if "memory allocation of" in stderr and result.get("status") in ("crashed", "failed"):
        return {**result, "status": "memory", "error_type": "AllocationFailure", "error": "out of memory"}
    if result.get("status") == "failed" and result.get("exit_code") == 101:
        found = _PANIC.search(stderr)
        if found:
            message = found.group(1) if found.group(1) is not None else found.group(4)
            where = found.group(2) or found.group(3)
            message = message.split("\nnote: run with")[0].strip()
            return {**result, "error_type": "panic", "error": f"{message} ({where})"}
        failures = re.findall(r"^---- (\S+) stdout ----", result.get("stdout", ""), re.MULTILINE)
        if failures:
            return {**result, "error_type": "TestFailure", "error": "failed: " + ", ".join(failures)}
    return result
