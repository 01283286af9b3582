from fractions import Fraction
from math import comb

import pytest

from codealign.errors import ConfigError
from codealign.evaluate.passk import benchmark_pass_at_k, estimate_pass_at_k, parse_ks, pass_at_k


def exact(n, c, k):
    return 1 - Fraction(comb(n - c, k), comb(n, k))


@pytest.mark.parametrize(
    "n,c,k", [(10, 3, 1), (10, 3, 5), (10, 0, 3), (10, 10, 10), (200, 17, 100), (5, 4, 2)]
)
def test_matches_exact_binomial_form(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), abs=1e-12)


def test_pass_at_1_is_the_pass_rate():
    assert pass_at_k(7, 3, 1) == pytest.approx(3 / 7)


def test_large_counts_do_not_overflow():
    assert pass_at_k(2000, 3, 1000) == pytest.approx(float(exact(2000, 3, 1000)), abs=1e-9)


def test_benchmark_mean_and_missing_k():
    counts = {"a": (10, 10), "b": (10, 0), "c": (3, 1)}
    got = benchmark_pass_at_k(counts, [1, 3, 10])
    assert set(got) == {"pass@1", "pass@3"}  # task c has only 3 samples
    assert got["pass@1"] == pytest.approx((1 + 0 + 1 / 3) / 3)
    assert estimate_pass_at_k(10, [10, 0], 1) == [1.0, 0.0]


def test_k_parsing():
    assert parse_ks("10, 1,1") == [1, 10]
    with pytest.raises(ConfigError, match="-k"):
        parse_ks("1,x")
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)
