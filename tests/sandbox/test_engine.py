import pytest

from codealign.cache import Cache
from codealign.errors import ConfigError
from codealign.sandbox import Limits, Program, Sandbox, Status


def test_outcomes_are_typed(sandbox):
    programs = [
        Program(id="pass", code="def inc(x):\n    return x + 1\n", tests="assert inc(1) == 2\n"),
        Program(id="fail", code="def inc(x):\n    return x\n", tests="assert inc(1) == 2\n"),
        Program(id="raise", code="def f():\n    raise KeyError('missing')\n", tests="f()\n"),
        Program(id="syntax", code="def f(:\n    pass\n"),
        Program(id="memory", code="x = bytearray(1 << 33)\n"),
        Program(id="timeout", code="while True:\n    pass\n", limits=Limits(timeout=1)),
        Program(id="segv", code="import ctypes\nctypes.string_at(0)\n"),
    ]
    got = {o.id: o for o in sandbox.run_all(programs)}
    assert {k: o.status for k, o in got.items()} == {
        "pass": Status.PASSED,
        "fail": Status.FAILED,
        "raise": Status.FAILED,
        "syntax": Status.SYNTAX,
        "memory": Status.MEMORY,
        "timeout": Status.TIMEOUT,
        "segv": Status.CRASHED,
    }
    assert got["fail"].error_type == "AssertionError" and "inc(1) == 2" in got["fail"].error
    assert got["raise"].error_type == "KeyError" and "missing" in got["raise"].error
    assert "SIGSEGV" in got["segv"].error
    assert 0.9 < got["timeout"].duration < 3.5  # stretched only by time spent waiting for a CPU


def test_output_is_captured_and_capped(sandbox):
    small, big = sandbox.run_all(
        [
            Program(code="import sys\nprint('hello')\nprint('oops', file=sys.stderr)\n"),
            Program(code="print('x' * 1_000_000)\nprint('END')\n", limits=Limits(max_output_bytes=1000)),
        ]
    )
    assert small.status is Status.PASSED and small.stdout == "hello\n" and small.stderr == "oops\n"
    assert big.status is Status.PASSED
    assert big.stdout.endswith("END\n") and len(big.stdout) < 1100 and "bytes cut" in big.stdout


def test_run_streams_every_program_once_with_ids(sandbox):
    programs = (Program(id=f"p{i}", code=f"assert {i} % 3 != 0\n") for i in range(40))
    outcomes = list(sandbox.run(programs))
    assert sorted(o.id for o in outcomes) == sorted(f"p{i}" for i in range(40))
    assert {o.id for o in outcomes if o.passed} == {f"p{i}" for i in range(40) if i % 3}


def test_no_state_leaks_between_programs(sandbox):
    first, second = sandbox.run_all(
        [
            Program(code="import math\nmath.pi = 3\nopen('left.txt', 'w').write('x')\n"),
            Program(code="import math, os\nassert math.pi > 3.14\nassert not os.path.exists('left.txt')\n"),
        ]
    )
    assert first.passed and second.passed, second.error


def test_fork_template_carries_no_fork_hooks(sandbox):
    # `threading` and `random` register hooks that every forked child would run (rebuilding locks, reseeding);
    # a language runner that imports them at module level, even indirectly, makes every program slower.
    (outcome,) = sandbox.run_all(
        [
            Program(
                code="import sys\nloaded = {'threading', 'random'} & set(sys.modules)\n",
                tests="assert not loaded, loaded\n",
            )
        ]
    )
    assert outcome.passed, outcome.error


def test_rerun_comes_from_the_cache(tmp_path):
    programs = [Program(id="a", code="print(1)"), Program(id="b", code="assert False")]
    with Cache(tmp_path) as cache:
        with Sandbox(workers=1, cache=cache) as sb:
            first = sb.run_all(programs)
            assert sb.stats["executed"] == 2
        with Sandbox(workers=1, cache=cache) as sb:
            again = sb.run_all(programs)
            assert sb.stats["executed"] == 0 and sb.stats["cached"] == 2
    assert [o.status for o in again] == [o.status for o in first]
    assert all(o.cached for o in again) and [o.id for o in again] == ["a", "b"]
    # Different limits are a different execution.
    with Cache(tmp_path) as cache, Sandbox(workers=1, cache=cache) as sb:
        sb.run_all([Program(id="a", code="print(1)", limits=Limits(timeout=5))])
        assert sb.stats["executed"] == 1


def test_language_aliases_and_unknown_languages(sandbox):
    (alias,) = sandbox.run_all([Program(language="py", code="print(1)")])
    assert alias.passed and alias.stdout == "1\n"
    # The language is the user's input: one that cannot run is their error, named with the ones that can.
    with pytest.raises(ConfigError, match=r"unknown language 'cobol'; available: .*python"):
        sandbox.run_all([Program(language="cobol", code="x")])
    assert sandbox.unsupported("py") is None
