"""A second language through the same engine: Node.js, added as one file and one registry line."""

import shutil

import pytest

from codealign.sandbox import Limits, Program, Sandbox, Status

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

ASSERT = "const assert = require('assert');\n"


def js(code: str, tests: str = "", **limits) -> Program:
    return Program(language="javascript", code=code, tests=tests, limits=Limits(**limits))


def test_javascript_outcomes_and_cheats():
    programs = {
        "passed": js("function inc(x) { return x + 1; }", ASSERT + "assert.strictEqual(inc(1), 2);"),
        "failed": js("function inc(x) { return x; }", ASSERT + "assert.strictEqual(inc(1), 2);"),
        "syntax": js("function inc(x { return x; }"),
        "timeout": js("while (true) {}", timeout=1),
        "memory": js("const keep = []; while (true) keep.push(new Array(1e6).fill(1));", memory_mb=1024),
        "early exit": js("process.exit(0);", "throw new Error('never reached');"),
        "printed success": js("console.log('All tests passed');", "throw new Error('wrong');"),
        "network": js("require('net').connect(80, '1.1.1.1').on('error', (e) => { throw e; });"),
        "async failure": js("async function f() { throw new TypeError('late'); }", "f();"),
    }
    with Sandbox(workers=2, languages=["python", "javascript"]) as sb:
        outcomes = dict(zip(programs, sb.run_all([*programs.values()]), strict=True))
        again = sb.run_all([Program(code="print('python still fine')")])[0]
    got = {name: o.status for name, o in outcomes.items()}
    assert got == {
        "passed": Status.PASSED,
        "failed": Status.FAILED,
        "syntax": Status.SYNTAX,
        "timeout": Status.TIMEOUT,
        "memory": Status.MEMORY,
        "early exit": Status.CRASHED,
        "printed success": Status.FAILED,
        "network": Status.FAILED,
        "async failure": Status.FAILED,
    }
    assert outcomes["failed"].error_type == "AssertionError"
    assert "ENETUNREACH" in outcomes["network"].error
    assert outcomes["async failure"].error_type == "TypeError" and outcomes["async failure"].error == "late"
    assert again.passed and again.stdout == "python still fine\n"
