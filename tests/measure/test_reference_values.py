"""Vendi against the vendi-score package, complexity against radon, on real code (HumanEval)."""

import math
from collections import Counter

import numpy as np
import pytest

from codealign.measure import MeasureConfig, measure
from codealign.measure.metrics.vendi import Vendi
from codealign.measure.text import tokenize
from codealign.measure.vendi import dense, hashed_features, vendi_from_features


def test_feature_side_vendi_equals_vendi_score_package_on_same_kernel(he_dataset):
    vendi = pytest.importorskip("vendi_score.vendi")
    texts = [it.instruction for it in he_dataset.items]
    r, c, v = hashed_features(texts, 3, 64)
    x = dense(r, c, v, len(texts), 64).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    # 164 items > 64 features: our value comes from the 64 x 64 feature-side Gram; the package eigendecomposes K.
    assert vendi_from_features(x) == pytest.approx(vendi.score_K(x @ x.T), rel=1e-9)


def test_vendi_metric_streams_chunks_to_the_same_value(he_dataset):
    vendi = pytest.importorskip("vendi_score.vendi")
    config = MeasureConfig(metrics=["vendi"], options={"vendi": {"dim": 96}}, sample_size=40, workers=1)
    res = measure(he_dataset, config).results["vendi"]
    for field in ("instruction", "code"):
        texts = [getattr(it, field) for it in he_dataset.items]
        x = dense(*hashed_features(texts, 3, 96), len(texts), 96).astype(np.float64)
        assert res.values[f"{field}.vendi"] == pytest.approx(vendi.score_K(x @ x.T), rel=1e-6)
        assert res.values[f"{field}.vendi_ratio"] == pytest.approx(res.values[f"{field}.vendi"] / len(texts))
        assert 1.0 <= res.values[f"{field}.vendi.sample"] <= 40


def test_hashed_kernel_approaches_exact_ngram_cosine_kernel(he_dataset):
    vendi = pytest.importorskip("vendi_score.vendi")
    texts = [it.instruction for it in he_dataset.items]
    grams = [Counter(tuple(t[i : i + 3]) for i in range(len(t) - 2)) for t in map(tokenize, texts)]

    def cosine(a, b):
        dot = sum(a[g] * b[g] for g in a if g in b)
        return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))

    exact = vendi.score(grams, cosine)
    default = vendi_from_features(dense(*hashed_features(texts, 3, Vendi.dim), len(texts), Vendi.dim))
    wide = vendi_from_features(dense(*hashed_features(texts, 3, 8192), len(texts), 8192))
    assert default == pytest.approx(exact, rel=0.05)
    assert abs(wide - exact) < abs(default - exact) + 1e-9
    assert wide == pytest.approx(exact, rel=0.02)


def test_cyclomatic_and_halstead_match_radon(he_dataset):
    from radon.complexity import cc_visit
    from radon.metrics import h_visit

    res = measure(he_dataset, MeasureConfig(metrics=["radon"], workers=1)).results["radon"]
    for it, cc, volume in zip(he_dataset.items, res.per_item["cyclomatic"], res.per_item["halstead_volume"], strict=True):
        assert cc == max(b.complexity for b in cc_visit(it.code))
        assert volume == pytest.approx(h_visit(it.code).total.volume)
    assert res.values["cyclomatic"] == pytest.approx(np.mean(res.per_item["cyclomatic"]))


def test_embedding_diversity_matches_vendi_score_and_brute_force():
    vendi = pytest.importorskip("vendi_score.vendi")
    from codealign.measure.metrics.embedding import embedding_diversity

    x = np.random.default_rng(0).normal(size=(50, 8))
    score, distance = embedding_diversity(x)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert score == pytest.approx(vendi.score_K(unit @ unit.T), rel=1e-9)
    cos = unit @ unit.T
    assert distance == pytest.approx(1 - (cos.sum() - 50) / (50 * 49))
    assert embedding_diversity(np.tile(x[:1], (10, 1)))[0] == pytest.approx(1.0)
