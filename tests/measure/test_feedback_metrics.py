"""Coverage and mutation score as QDC quality metrics, on records whose figures follow from reading them."""

import pytest

from codealign.measure import dataset_from_rows
from codealign.measure.runner import MeasureConfig, measure

CLAMP = "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n"
FULL = "assert clamp(-1, 0, 5) == 0\nassert clamp(9, 0, 5) == 5\nassert clamp(3, 0, 5) == 3\n"
ONE_PATH = "assert clamp(3, 0, 5) == 3\n"
RUNS_ONLY = "clamp(1, 0, 5)\nassert True\n"


def rows(*tests):
    return [{"instruction": "Clamp x into [lo, hi].", "response": f"```python\n{CLAMP}```", "tests": t} for t in tests]


def test_coverage_metric_means_lines_and_branches_over_records():
    data = dataset_from_rows(rows(FULL, ONE_PATH, RUNS_ONLY), "clamp")
    res = measure(data, MeasureConfig(metrics=["coverage"], workers=2)).results["coverage"]
    # Six lines with code; the in-range call runs four of them and takes one outcome of each of the two ifs.
    assert res.values["line_coverage"] == pytest.approx((1 + 4 / 6 + 4 / 6) / 3)
    assert res.values["branch_coverage"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert res.values["full_coverage"] == pytest.approx(1 / 3)
    assert res.values["measured"] == 3 and res.group == "quality"


def test_mutation_metric_tells_checking_tests_from_tests_that_only_run_the_code():
    data = dataset_from_rows(rows(FULL, RUNS_ONLY), "clamp")
    res = measure(data, MeasureConfig(metrics=["mutation"], options={"mutation": {"mutants": 4}}, workers=2)).results["mutation"]
    # Every mutant of clamp changes what one of FULL's three calls returns; RUNS_ONLY can fail on none of them.
    assert res.values["kill_rate"] == 0.5 and res.values["no_kill"] == 0.5
    assert res.values["mutants_run"] == 8
