"""The test-quality gate: do a passing sample's tests bind its solution?

The sandbox counts, for every assert site of the tests, how often it ran, how often it failed and how often the
value it tested was not a bool (`Program.checks = ("asserts",)`); `codealign.synth.testgate.assert_classes` says what
each site can check. A passing sample is kept when at least one *binding* assertion actually ran. Reasons, in the
order they are tried:

  tests_redefine_solution   the tests define a solution function or class again and check their own copy
  assert_failure_swallowed  an assertion failed while the program passed: a handler ate the failure
  no_assert_ran             no assertion ran (they sit after a return or exit, in functions never called, ...)
  asserts_swallowed         every assertion that ran sits in a handler that swallows AssertionError
  asserts_cannot_fail       every assertion that ran is constant or short-circuits to true (`or True`)
  solution_unused           no assertion that ran reads a value computed from the solution
  type_checks_only          only type, None or attribute checks ran
  truthiness_only           only truthiness checks of non-bool values ran (`assert result`)

An outcome without counts (an older cache entry) falls back to the static reading of the tests (`trivial_tests`).
Other languages, whose asserts the sandbox does not count, are judged by execution, and their tests must at least
name something the solution defines (`solution_unused`).
"""

from __future__ import annotations

from collections import Counter

from codealign.records import Record
from codealign.sandbox.types import Checks, Outcome
from codealign.synth import code as codeutil
from codealign.synth import testgate

_REASONS = {
    "swallowed": "asserts_swallowed",
    "constant": "asserts_cannot_fail",
    "unused": "solution_unused",
    "type_check": "type_checks_only",
    "truthiness": "truthiness_only",
}
GATE_REASONS = (
    "tests_redefine_solution", "assert_failure_swallowed", "no_assert_ran", *_REASONS.values(), "trivial_tests",
)  # fmt: skip


def binding_runs(checks: Checks, classes: dict[tuple[int, int], str]) -> tuple[int, Counter]:
    """(runs of binding assertions, runs of every other class): a truthiness check of a bool is binding."""
    weak: Counter = Counter()
    binding = 0
    for site in checks.asserts or ():
        kind = classes.get((site.line, site.col), "binding")
        if kind == "binding":
            binding += site.runs
        elif kind == "truthiness":
            binding += site.runs - site.non_bool
            weak["truthiness"] += site.non_bool
        else:
            weak[kind] += site.runs
    return binding, weak


def test_quality_reason(sample: Record, outcome: Outcome | None) -> str | None:
    """Why a passing sample's tests do not bind its solution, or None when they do."""
    language = sample.data.get("language") or "python"
    if language != "python":
        return _other_language_reason(sample, language)
    code, tests = codeutil.program_parts(sample.data["solution"], sample.data["tests"])
    checks = outcome.checks if outcome is not None else None
    if checks is None or checks.asserts is None:
        return "trivial_tests" if testgate.weak_tests(code, tests) else None
    sol, parsed = testgate.parse(code), testgate.parse(tests)
    if sol is not None and parsed is not None and testgate.redefined_name(sol, parsed):
        return "tests_redefine_solution"
    if checks.asserts_failed:
        return "assert_failure_swallowed"
    if not checks.asserts_run:
        return "no_assert_ran"
    if sol is None or parsed is None:
        return None  # unreadable code is judged by execution alone
    binding, weak = binding_runs(checks, testgate.assert_classes(sol, parsed))
    if binding:
        return None
    kind = max(weak, key=lambda k: (weak[k], k))
    return _REASONS[kind]


def _other_language_reason(sample: Record, language: str) -> str | None:
    """Languages the sandbox counts no asserts for: the tests must at least name something the solution defines
    (read through tree-sitter; not applicable, so kept, without the `langs` extra or when the code does not parse)."""
    import re

    code, tests = codeutil.program_parts(sample.data["solution"], sample.data["tests"], language)
    raw = (code_names(code, language) or set()) - {"main"}
    if raw and not any(re.search(rf"\b{re.escape(name)}\b", tests) for name in raw):
        return "solution_unused"
    return None


def code_names(code: str, language: str) -> set[str] | None:
    """The solution's defined names as written (not normalised), for finding them in the tests."""
    from codealign.synth.code import _other_syntax

    lang = _other_syntax(language)
    found = lang.definitions(code) if lang is not None else None
    return None if found is None else set(found[0]) | set(found[1])
