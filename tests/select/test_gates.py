"""The test-quality gate on tests that game their own solution: each pattern runs for real in the sandbox, where
the wrong `add` passes, and the gate must still reject it, with the asserts it counted while the program ran."""

import pytest

from codealign.records import Record
from codealign.sandbox import Program, Sandbox, Status
from codealign.select.gates import test_quality_reason as gate_reason
from codealign.synth import code as codeutil

WRONG_ADD = "def add(a, b):\n    return a - b\n"
RIGHT_ADD = "def add(a, b):\n    return a + b\n"

# name -> (solution, tests, the gate's reason). Every wrong solution here passes in the sandbox.
GAMED = {
    "or_true": (WRONG_ADD, "assert add(1, 2) == 3 or True\n", "asserts_cannot_fail"),
    "or_one": (WRONG_ADD, "assert add(1, 2) == 3 or 1\n", "asserts_cannot_fail"),
    "constant": (WRONG_ADD, "add(1, 2)\nassert 3 == 3\nassert True\n", "asserts_cannot_fail"),
    "tautology": (WRONG_ADD, "assert add(1, 2) == add(1, 2)\n", "asserts_cannot_fail"),
    "tuple_always_true": (WRONG_ADD, "assert (add(1, 2) == 3, 'sum')\n", "asserts_cannot_fail"),
    "except_assertion_error": (
        WRONG_ADD, "try:\n    assert add(2, 2) == 4\nexcept AssertionError:\n    pass\n", "assert_failure_swallowed"),
    "except_exception": (
        WRONG_ADD, "try:\n    assert add(2, 2) == 4\nexcept Exception as exc:\n    print(exc)\n", "assert_failure_swallowed"),
    "bare_except": (WRONG_ADD, "try:\n    assert add(2, 2) == 4\nexcept:\n    pass\n", "assert_failure_swallowed"),
    "suppress": (
        WRONG_ADD,
        "import contextlib\nwith contextlib.suppress(AssertionError):\n    assert add(2, 2) == 4\n",
        "assert_failure_swallowed",
    ),
    "swallowing_helper": (
        WRONG_ADD,
        "def check(a, b, want):\n    assert add(a, b) == want\n\nfor case in [(1, 2, 3), (2, 2, 4)]:\n"
        "    try:\n        check(*case)\n    except Exception:\n        print('skipped', case)\n",
        "assert_failure_swallowed",
    ),
    "is_not_none": (WRONG_ADD, "assert add(1, 2) is not None\n", "type_checks_only"),
    "isinstance": (WRONG_ADD, "assert isinstance(add(1, 2), int)\nassert add(3, 4) != None\n", "type_checks_only"),
    "type_is": (WRONG_ADD, "assert type(add(1, 2)) is int\n", "type_checks_only"),
    "all_isinstance": (WRONG_ADD, "assert all(isinstance(add(x, x), int) for x in range(3))\n", "type_checks_only"),
    "truthiness": (WRONG_ADD, "result = add(5, 2)\nassert result\nassert add(1, 3)\n", "truthiness_only"),
    "after_return": (
        WRONG_ADD, "def test_add():\n    return\n    assert add(1, 2) == 3\n\ntest_add()\n", "no_assert_ran"),
    "never_called": (WRONG_ADD, "def test_add():\n    assert add(1, 2) == 3\n", "no_assert_ran"),
    "unittest_without_main": (
        WRONG_ADD,
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
        "no_assert_ran",
    ),
    "only_in_dead_branch": (WRONG_ADD, "if add(1, 2) == 99:\n    assert add(1, 2) == 3\n", "no_assert_ran"),
    "never_calls_solution": (WRONG_ADD, "expected = 1 + 2\nassert expected == 3\n", "solution_unused"),
    "tests_redefine_solution": (
        WRONG_ADD, "def add(a, b):\n    return a + b\n\nassert add(1, 2) == 3\n", "tests_redefine_solution"),
}  # fmt: skip

# Tests that bind the solution: the gate keeps them (each is run with the right solution, and passes).
BINDING = {
    "equality": (RIGHT_ADD, "assert add(1, 2) == 3\nassert add(-1, 1) == 0\n"),
    "predicate": (
        "def is_even(n):\n    return n % 2 == 0\n", "assert is_even(4)\nassert not is_even(3)\n"),
    "or_of_values": (RIGHT_ADD, "assert add(1, 2) == 3 or add(1, 2) == 4\n"),
    "state": (
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n",
        "s = Stack()\ns.push(1)\nassert s.items == [1]\n",
    ),
    "expected_exception": (
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n",
        "try:\n    root(-1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('no error')\nassert root(4) == 2\n",
    ),
    "helper_in_loop": (
        RIGHT_ADD, "def check(a, b, want):\n    assert add(a, b) == want\n\nfor case in [(1, 2, 3), (0, 0, 0)]:\n    check(*case)\n"),
    "unittest": (
        RIGHT_ADD,
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
        "    def test_type(self):\n        self.assertIsInstance(add(1, 1), int)\n\nunittest.main()\n",
    ),
    "assert_raises": (
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_negative(self):\n"
        "        with self.assertRaises(ValueError):\n            root(-1)\n\nunittest.main()\n",
    ),
    "mixed_weak_and_binding": (RIGHT_ADD, "assert add(1, 2) is not None\nassert add(1, 2) == 3\n"),
}  # fmt: skip


def sample(code: str, tests: str) -> Record:
    fence = "```"
    return Record("sample", {"solution": f"{fence}python\n{code}{fence}", "tests": f"{fence}python\n{tests}{fence}"})


@pytest.fixture(scope="module")
def outcomes():
    """Every case above, run once with its asserts counted."""
    cases = {**GAMED, **{name: (code, tests, None) for name, (code, tests) in BINDING.items()}}
    programs = []
    for name, (code, tests, _) in cases.items():
        code_part, tests_part = codeutil.program_parts(sample(code, tests).data["solution"], sample(code, tests).data["tests"])
        programs.append(Program(id=name, code=code_part, tests=tests_part, checks=("asserts",)))
    with Sandbox(workers=2) as sandbox:
        return {o.id: o for o in sandbox.run_all(programs)}


@pytest.mark.parametrize("name", sorted(GAMED))
def test_a_wrong_add_that_games_its_tests_passes_the_sandbox_but_not_the_gate(outcomes, name):
    code, tests, reason = GAMED[name]
    outcome = outcomes[name]
    assert outcome.status is Status.PASSED, (outcome.error, outcome.stderr)
    assert gate_reason(sample(code, tests), outcome) == reason


@pytest.mark.parametrize("name", sorted(BINDING))
def test_tests_that_bind_the_solution_pass_the_gate(outcomes, name):
    code, tests = BINDING[name]
    outcome = outcomes[name]
    assert outcome.status is Status.PASSED, (outcome.error, outcome.stderr)
    assert outcome.checks.asserts_run >= 1
    assert gate_reason(sample(code, tests), outcome) is None


def test_asserts_are_counted_as_they_run_not_as_they_are_written(outcomes):
    # Two cases, each checked by `check` twice: the one assert site ran twice.
    sites = outcomes["helper_in_loop"].checks.asserts
    assert [(s.line, s.runs, s.failures) for s in sites] == [(2, 2, 0)]
    # The swallowed assert ran once and failed once, though the program passed.
    swallowed = outcomes["except_assertion_error"].checks.asserts
    assert [(s.runs, s.failures) for s in swallowed] == [(1, 1)]
    # The assert after `return` never ran.
    assert [s.runs for s in outcomes["after_return"].checks.asserts] == [0]
    # `assert result` tested an int: a truthiness check, told apart at run time from a predicate's bool.
    assert [s.non_bool for s in outcomes["truthiness"].checks.asserts] == [1, 1]
    assert [s.non_bool for s in outcomes["predicate"].checks.asserts] == [0, 0]


def test_counting_does_not_change_what_a_program_does():
    """The same programs with and without counting: same status, same error, same failing line."""
    programs = [
        Program(id="fails", code=WRONG_ADD, tests="x = 1\nassert add(1, 2) == 3, 'sum of 1 and 2'\n"),
        Program(id="bare", code=WRONG_ADD, tests="assert add(1, 2) == 3\n"),
        Program(id="unittest", code=WRONG_ADD, tests=BINDING["unittest"][1]),
        Program(id="raises", code="def f():\n    raise KeyError('k')\n", tests="assert f() == 1\n"),
        Program(id="passes", code=RIGHT_ADD, tests="assert add(1, 2) == 3\n"),
        Program(id="syntax", code=RIGHT_ADD, tests="assert add(1, 2) ==\n"),
        Program(id="future", code=RIGHT_ADD, tests="from __future__ import annotations\nassert add(1, 2) == 3\n"),
        # Columns are bytes, and only "\n" ends a line for the parser: the rewrite must keep both straight.
        Program(id="multiline", code=WRONG_ADD, tests='label = "\u00e9t\u00e9"; assert add(1,\n    2) == 3, f"{label} sum"\n'),
        Program(id="separator", code=WRONG_ADD, tests='note = "a\u2028b\x0cc"\nassert add(1, 2) == 3, note\n'),
    ]
    counted = [p.model_copy(update={"checks": ("asserts",)}) for p in programs]
    with Sandbox(workers=2) as sandbox:
        plain, measured = sandbox.run_all(programs), sandbox.run_all(counted)
    for a, b in zip(plain, measured, strict=True):
        assert (a.status, a.error_type, a.error) == (b.status, b.error_type, b.error), a.id
        assert a.checks is None
    assert [o.status.value for o in plain] == ["failed", "failed", "failed", "failed", "passed", "syntax", "passed",
                                               "failed", "failed"]  # fmt: skip
    assert plain[0].error == "sum of 1 and 2 (<tests> line 2)"
    assert [(s.line, s.runs, s.failures) for s in measured[7].checks.asserts] == [(1, 1, 1)]
    assert [(s.line, s.runs, s.failures) for s in measured[8].checks.asserts] == [(2, 1, 1)]
    assert measured[2].checks.asserts_failed == 1  # unittest reported the failure; the count saw it too
