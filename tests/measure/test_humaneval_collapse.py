"""HumanEval's 164 problems against a collapsed copy of the same size (41 problems, each repeated 4 times):
the copy must score lower on every diversity figure, and each of its records keeps its quality."""

import importlib.util

import pytest

from codealign.measure import MeasureConfig, dataset_from_rows, measure

HAS_SANDBOX = importlib.util.find_spec("codealign.sandbox.engine") is not None
QUALITY = ["format", "syntax", "tests"] + (["execution"] if HAS_SANDBOX else [])
DIVERSITY = ["distinct_n", "compression", "near_dup", "vendi", "ast_structure", "self_bleu"]


@pytest.fixture(scope="module")
def measured(he_rows):
    collapsed_rows = [row for row in he_rows[::4] for _ in range(4)]
    assert len(collapsed_rows) == len(he_rows)
    config = MeasureConfig(metrics=QUALITY + DIVERSITY, workers=2)
    full = measure(dataset_from_rows(he_rows, "humaneval"), config)
    collapsed = measure(dataset_from_rows(collapsed_rows, "collapsed"), config)
    return full, collapsed


def test_collapsed_copy_is_less_diverse_on_every_figure(measured):
    full, collapsed = measured
    compared = 0
    for name in DIVERSITY:
        res = full.results[name]
        for key, direction in res.directions.items():
            a, b = res.values[key], collapsed.results[name].values[key]
            if direction == "higher":
                assert b < a, f"{name}.{key}: collapsed {b} is not below {a}"
            else:
                assert b > a, f"{name}.{key}: collapsed {b} is not above {a}"
            compared += 1
    assert compared >= 30
    # Vendi counts effectively distinct items: about 41 for 41 distinct problems.
    assert collapsed.value("vendi.code.vendi") < 45 < full.value("vendi.code.vendi")


def test_collapsed_copy_keeps_each_records_quality(measured):
    full, collapsed = measured
    for name in ("format", "syntax", "tests"):
        for key, column in full.results[name].per_item.items():
            expected = [v for v in column[::4] for _ in range(4)]
            assert collapsed.results[name].per_item[key] == expected, f"{name}.{key}"
    for key in ("format.format_valid", "syntax.syntax_valid", "tests.trivial_tests"):
        assert full.value(key) == collapsed.value(key)


@pytest.mark.skipif(not HAS_SANDBOX, reason="the sandbox is not installed")
def test_canonical_solutions_pass_in_the_sandbox(measured):
    full, collapsed = measured
    assert full.value("execution.pass_rate") == 1.0
    assert collapsed.value("execution.pass_rate") == 1.0
    assert full.value("execution.executed") == 164
    assert full.value("execution.timeout_rate") == 0.0
