"""Worker processes see fixed-size chunks, so every figure is the same with one process or several."""

import pytest

from codealign.measure import MeasureConfig, dataset_from_rows, measure
from codealign.measure.base import CHUNK, ChunkMetric
from codealign.measure.runner import select_metrics


def rows(n):
    ops = ["+", "-", "*", "//", "%"]
    return [
        {
            "instruction": f"Write f{i}(x) that returns x {ops[i % 5]} {i % 97}, and raise ValueError for negative x.",
            "response": f"def f{i}(x):\n    if x < 0:\n        raise ValueError(x)\n    return x {ops[i % 5]} {i % 97 + 1}\n",
            "tests": f"assert f{i}(3) == 3 {ops[i % 5]} {i % 97 + 1}",
        }
        for i in range(n)
    ]


def test_two_workers_give_the_same_figures_as_one():
    ds = dataset_from_rows(rows(CHUNK + 300))
    chunked = [m.name for m in select_metrics(MeasureConfig()) if isinstance(m, ChunkMetric)]
    config = {"metrics": chunked, "sample_size": 500, "options": {"vendi": {"dim": 256}}}
    one = measure(ds, MeasureConfig(workers=1, **config))
    two = measure(ds, MeasureConfig(workers=2, **config))
    assert set(one.results) == set(chunked)
    for name in chunked:
        a, b = one.results[name], two.results[name]
        assert a.values.keys() == b.values.keys()
        for key, value in a.values.items():
            assert b.values[key] == pytest.approx(value, rel=1e-9), f"{name}.{key}"
        assert a.per_item == b.per_item
        assert a.counts == b.counts
