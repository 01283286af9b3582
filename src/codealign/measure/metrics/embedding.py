"""Embedding diversity: Vendi score and mean pairwise cosine distance of sentence embeddings (extra `embed`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from codealign.errors import MissingDependency
from codealign.measure.base import Context, Metric, MetricResult
from codealign.measure.data import Item
from codealign.measure.vendi import vendi_from_features

FIELDS = ("instruction", "code")


def embedding_diversity(vectors: np.ndarray) -> tuple[float, float]:
    """(Vendi under the cosine kernel, mean cosine distance over distinct pairs) of the rows of `vectors`."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    n = len(x)
    total = x.sum(axis=0)
    # sum over i != j of cos(i, j) = |sum x|^2 - n, since every row has unit norm
    mean_cos = (float(total @ total) - n) / (n * (n - 1)) if n > 1 else 1.0
    return vendi_from_features(x), 1.0 - mean_cos


class Embedding(Metric):
    name = "embedding"
    group = "diversity"
    version = 1
    description = (
        "sentence-transformers embeddings of the seeded fixed-size sample: Vendi score under the cosine kernel "
        "and mean pairwise cosine distance, for instructions and code"
    )
    directions: ClassVar[dict[str, str]] = {f"{f}.{k}": "higher" for f in FIELDS for k in ("embedding_vendi", "cosine_distance")}
    headline = ("instruction.embedding_vendi", "code.embedding_vendi")
    default = False
    options = ("model", "batch_size", "device")
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    batch_size: int = 64
    device: str | None = None

    def check(self) -> None:
        if importlib.util.find_spec("sentence_transformers") is None:
            raise MissingDependency("sentence-transformers", "embed", purpose="the embedding metric")

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(self.model, device=self.device)
        res = self.result()
        for f in FIELDS:
            texts = [getattr(items[int(i)], f) for i in ctx.sample]
            vectors = encoder.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
            vendi, distance = embedding_diversity(np.asarray(vectors))
            res.values[f"{f}.embedding_vendi"] = vendi
            res.values[f"{f}.cosine_distance"] = distance
        res.values["sample_size"] = len(ctx.sample)
        res.notes.append(f"model: {self.model}")
        return res
