"""C++, Rust, Go, Java, TypeScript and shell through the same engine: each outcome, builds stored by source hash,
compiler limits, and a missing toolchain named by its Debian package."""

import os
import shutil

import pytest

from codealign.errors import SandboxError
from codealign.registry import LANGUAGES
from codealign.sandbox import Limits, Program, Sandbox, Status
from tests.sandbox.language_cases import LANGUAGES as NAMES
from tests.sandbox.language_cases import OUTCOMES

AVAILABLE = [name for name in NAMES if LANGUAGES.get(name)().available()]
EXCEPTION_TYPES = {"cpp": "std::out_of_range", "rust": "panic", "go": "panic",
                   "java": "ArrayIndexOutOfBoundsException", "typescript": "TypeError", "shell": None}  # fmt: skip


def program(language: str, case: str, cases=OUTCOMES) -> Program:
    code, tests, limits = cases[language][case]
    return Program(id=f"{language}/{case}", language=language, code=code, tests=tests, limits=Limits(**limits))


@pytest.fixture(scope="module")
def outcomes():
    """Every case of every installed language in one batch, then the passing ones again (their builds stored)."""
    programs = [program(lang, case) for lang in AVAILABLE for case in OUTCOMES[lang]]
    with Sandbox(workers=2, languages=["python", *AVAILABLE]) as sb:
        first = {o.id: o for o in sb.run_all(programs)}
        again = {o.id: o for o in sb.run_all([program(lang, "passed") for lang in AVAILABLE])}
        python = sb.run_all([Program(code="print('python still fine')")])[0]
        stats = dict(sb.stats)
    return first, again, python, stats


@pytest.mark.parametrize("language", NAMES)
def test_each_outcome(outcomes, language):
    if language not in AVAILABLE:
        pytest.skip(LANGUAGES.get(language)().missing())
    first, _, _, _ = outcomes
    got = {case: first[f"{language}/{case}"] for case in OUTCOMES[language]}
    assert {case: o.status for case, o in got.items()} == {
        "passed": Status.PASSED,
        "failed": Status.FAILED,
        "syntax": Status.SYNTAX,
        "early_exit": Status.CRASHED,
        "exception": Status.FAILED,
        "timeout": Status.TIMEOUT,
        "memory": Status.MEMORY,
    }, {case: (o.status, o.error, o.stderr[-300:]) for case, o in got.items()}
    failed = got["failed"]
    assert "All tests passed" in failed.stdout + failed.stderr  # printing success changes nothing
    assert got["syntax"].error  # the compiler's (or bash -n's) message
    assert got["exception"].error_type == EXCEPTION_TYPES[language], got["exception"]
    assert "exited with status 0 before its tests finished" in got["early_exit"].error
    if language != "shell":  # compiled: the build time is reported apart from the run, which never started
        assert got["passed"].compile_duration > 0 and got["syntax"].compile_duration > 0
        assert got["syntax"].duration == 0.0


def test_error_messages_point_at_the_program(outcomes):
    first, _, _, _ = outcomes
    expect = {
        "cpp/failed": ("AssertionError", "total({1, 2, 3}) == 6"),
        "rust/failed": ("panic", "left"),
        "go/failed": ("panic", "total([1 2 3]) != 6"),
        "java/failed": ("AssertionError", "line"),
        "typescript/failed": ("AssertionError", "3 !== 6"),
        "cpp/syntax": ("CompileError", "main.cpp:2"),
        "rust/syntax": ("CompileError", "main.rs:"),
        "go/syntax": ("CompileError", "main.go:"),
        "java/syntax": ("CompileError", "illegal start of expression"),
        "typescript/syntax": ("CompileError", "TS2322"),
        "shell/syntax": ("SyntaxError", "syntax error"),
    }
    for key, (kind, text) in expect.items():
        if key.split("/")[0] in AVAILABLE:
            assert first[key].error_type == kind and text in first[key].error, (key, first[key])


def test_builds_are_stored_by_source_hash(outcomes):
    _, again, python, stats = outcomes
    compiled = [lang for lang in AVAILABLE if lang != "shell"]
    for lang in compiled:
        o = again[f"{lang}/passed"]
        assert o.passed and o.compile_duration == 0.0, o  # ran from the stored build: nothing compiled
    assert stats["builds_reused"] == len(compiled) and stats["restarts"] == 0
    assert python.passed and python.stdout == "python still fine\n"


@pytest.mark.skipif("cpp" not in AVAILABLE, reason="g++ is not installed")
def test_compiler_limits_are_the_languages_own_and_can_be_overridden(tmp_path):
    secret = tmp_path / "secret.h"
    secret.write_text("#error TOP-SECRET-HEADER\n")
    hello = "#include <cstdio>\n"
    main = "int main() { std::puts(\"hi\"); }\n"
    programs = [
        # The program's limit is 1 s; the compiler gets the language's default (30 s), not the program's.
        Program(id="slow build", language="cpp", code="#include <bits/stdc++.h>\n", tests=main,
                limits=Limits(timeout=1)),  # fmt: skip
        Program(id="bomb", language="cpp", code='#include "/dev/zero"\n', tests=main,
                limits=Limits(compile_timeout=3, compile_memory_mb=256)),  # fmt: skip
        Program(id="host file", language="cpp", code=f'#include "{secret}"\n', tests=main),
        Program(id="tight", language="cpp", code="#include <bits/stdc++.h>\n", tests=main,
                limits=Limits(compile_timeout=0.05)),  # fmt: skip
    ]
    with Sandbox(workers=2, languages=["cpp"]) as sb:
        slow, bomb, host_file, tight = sb.run_all(programs)
        healthy = sb.run_all([Program(language="cpp", code=hello, tests=main)])[0]
    assert slow.passed and slow.stdout == "hi\n", slow
    assert bomb.status in (Status.TIMEOUT, Status.MEMORY) and "compiler" in bomb.error, bomb
    assert host_file.status is Status.SYNTAX and "No such file" in host_file.error
    assert "TOP-SECRET" not in host_file.error + host_file.stderr
    assert tight.status is Status.TIMEOUT and tight.error == "the compiler ran past its 0.05 s limit", tight
    assert healthy.passed and sb.stats["restarts"] == 0


def test_a_missing_toolchain_names_its_package(tmp_path, monkeypatch):
    # A PATH with the sandbox's own tools and no compiler at all.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bwrap", "unshare", "true"):  # `true` is what the isolation probe runs
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SandboxError, match=r"needs `rustc`: install the Debian package rustc"):
        Sandbox(workers=1, languages=["rust"])
    with pytest.raises(SandboxError, match=r"default-jdk-headless"):
        Sandbox(workers=1, languages=["java"])
    with Sandbox(workers=1) as sb:  # every language by default: those without a toolchain answer in one line
        go, py = sb.run_all([Program(language="go", code="package main\nfunc main() {}\n"), Program(code="pass")])
    assert go.status is Status.SANDBOX_ERROR and go.error.startswith("language 'go' needs `go`")
    assert "golang-go" in go.error and py.passed
    assert "golang-go" in sb.unsupported("golang")  # what `codealign exec` says of such a line


def test_exec_runs_programs_in_every_language(tmp_path):
    import json
    import subprocess
    import sys

    rows = [{"id": lang, "language": lang, "code": OUTCOMES[lang]["passed"][0], "tests": OUTCOMES[lang]["passed"][1]}
            for lang in AVAILABLE]  # fmt: skip
    rows.append({"id": "rust-slow-build", "language": "rs", "code": "fn main() {}\n", "compile_timeout": 0.01})
    programs, out = tmp_path / "programs.jsonl", tmp_path / "out.jsonl"
    programs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = subprocess.run([sys.executable, "-m", "codealign", "exec", programs, "-o", out, "--workers", "2"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    for lang in AVAILABLE:
        assert got[lang]["outcome"] == "passed", got[lang]
        assert (got[lang].get("compile_duration") or 0) > 0 or lang == "shell"
    if "rust" in AVAILABLE:
        assert got["rust-slow-build"]["outcome"] == "timeout" and "compiler" in got["rust-slow-build"]["error"]
