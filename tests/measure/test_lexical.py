"""distinct-n, compression and self-BLEU on cases small enough to count by hand."""

import zlib

import numpy as np
import pytest

from codealign.measure import dataset_from_rows
from codealign.measure.base import Context
from codealign.measure.metrics.compression import Compression, compression_ratio
from codealign.measure.metrics.distinct_n import DistinctN, distinct_n
from codealign.measure.metrics.self_bleu import self_bleu_scores


def ctx_for(n, sample=None):
    sample = np.arange(n) if sample is None else np.asarray(sample)
    return Context(n=n, sample=sample, sample_size=len(sample), fields={"tests": None})


def test_distinct_n_counts_by_hand():
    texts = ["a b a b", "a c"]
    # unigrams: a b a b a c -> 3 distinct of 6
    assert distinct_n(texts, 1) == pytest.approx(3 / 6)
    # bigrams: (a b) (b a) (a b) | (a c) -> 3 distinct of 4; none spans the two texts
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    # trigrams: (a b a) (b a b) -> 2 of 2; the second text is too short for one
    assert distinct_n(texts, 3) == pytest.approx(1.0)
    assert distinct_n(["a b"], 3) is None
    # punctuation marks are tokens of their own: f ( x ) -> 4 tokens, ( and ) distinct
    assert distinct_n(["f(x)", "f(y)"], 1) == pytest.approx(5 / 8)


def test_distinct_n_metric_and_its_fixed_size_sample():
    rows = [{"instruction": "a b a b", "response": "x = 1"}, {"instruction": "a c", "response": "x = 1"},
            {"instruction": "d e f", "response": "y = 2"}]
    ds = dataset_from_rows(rows)
    res = DistinctN().compute(ds.items, ctx_for(3, sample=[0, 1]))
    assert res.values["instruction.distinct_1"] == pytest.approx(6 / 9)
    assert res.values["instruction.distinct_1.sample"] == pytest.approx(3 / 6)
    assert res.values["code.distinct_1"] == pytest.approx(5 / 9)  # x = 1 x = 1 y = 2: x = 1 y 2


def test_compression_ratio_by_hand():
    text = "def f(x):\n    return x\n"
    assert compression_ratio([text]) == pytest.approx(len(text) / len(zlib.compress(text.encode(), 6)))
    joined = "\n".join([text] * 50).encode()
    assert compression_ratio([text] * 50) == pytest.approx(len(joined) / len(zlib.compress(joined, 6)))
    # Fifty copies of one text compress far better than one: redundancy shows up as a higher ratio.
    assert compression_ratio([text] * 50) > 10 * compression_ratio([text])
    assert compression_ratio([""]) is None


def test_compression_metric_sums_blocks():
    rows = [{"instruction": f"item {i} " * 3, "response": "pass"} for i in range(10)]
    res = Compression().compute(dataset_from_rows(rows).items, ctx_for(10))
    texts = [r["instruction"] for r in rows]
    assert res.values["instruction.compression_ratio"] == pytest.approx(compression_ratio(texts))
    assert res.values["instruction.compression_ratio.sample"] == pytest.approx(compression_ratio(texts))


def test_self_bleu_identical_and_disjoint_texts():
    same = self_bleu_scores(["the quick brown fox jumps"] * 3)
    assert same == pytest.approx([1.0, 1.0, 1.0])
    disjoint = self_bleu_scores(["a b c d e", "f g h i j", "k l m n o"])
    assert max(disjoint) < 0.01
    # A record is never its own reference: one copy plus an unrelated text scores low.
    assert self_bleu_scores(["a b c d e", "v w x y z"])[0] < 0.01
