"""Self-BLEU on a seeded sample: each sampled record's BLEU-4 against all the other sampled records. Higher = more alike."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from codealign.measure.base import Context, Metric, MetricResult, distribution
from codealign.measure.data import Item
from codealign.measure.text import tokenize

FIELDS = ("instruction", "code")


def self_bleu_scores(texts: Sequence[str], max_n: int = 4) -> list[float]:
    """Sentence BLEU-4 (add-one smoothing for n > 1, closest-length brevity penalty) of each text vs all others.

    A reference count for an n-gram is its largest count in any *other* text, so each n-gram keeps its two best
    (count, text) pairs: the whole computation is linear in the total number of n-grams.
    """
    docs = [tokenize(t) for t in texts]
    m = len(docs)
    if m < 2:
        return []
    grams = [[Counter(tuple(d[i : i + n]) for i in range(len(d) - n + 1)) for n in range(1, max_n + 1)] for d in docs]
    best: list[dict[tuple, tuple[int, int, int]]] = [{} for _ in range(max_n)]  # gram -> (count1, doc1, count2)
    for j, per_n in enumerate(grams):
        for k, counter in enumerate(per_n):
            table = best[k]
            for g, c in counter.items():
                c1, d1, c2 = table.get(g, (0, -1, 0))
                if c > c1:
                    table[g] = (c, j, c1)
                elif c > c2:
                    table[g] = (c1, d1, c)
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    scores = []
    for j, per_n in enumerate(grams):
        hyp_len = len(docs[j])
        if hyp_len == 0:
            scores.append(0.0)
            continue
        log_p = 0.0
        for k, counter in enumerate(per_n):
            total = sum(counter.values())
            clipped = 0
            for g, c in counter.items():
                c1, d1, c2 = best[k][g]
                clipped += min(c, c2 if d1 == j else c1)
            smooth = 1 if k > 0 else 0
            if total + smooth == 0 or clipped + smooth == 0:
                log_p = -math.inf
                break
            log_p += math.log((clipped + smooth) / (total + smooth)) / max_n
        others = np.delete(lengths, j)
        ref_len = float(others[np.argmin(np.abs(others - hyp_len) + others * 1e-9)])
        bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
        scores.append(bp * math.exp(log_p) if log_p > -math.inf else 0.0)
    return scores


class SelfBleu(Metric):
    name = "self_bleu"
    group = "diversity"
    version = 1
    description = (
        "self-BLEU-4 (tokens as in distinct-n; add-one smoothing for n > 1) of up to 200 seeded-sampled records, "
        "each against the other sampled ones; higher = more alike. Full self-BLEU is quadratic, so it is sampled"
    )
    directions: ClassVar[dict[str, str]] = {f"{f}.self_bleu": "lower" for f in FIELDS}
    headline = ("instruction.self_bleu", "code.self_bleu")
    options = ("size",)
    size: int = 200

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        rng = np.random.default_rng(ctx.seed)
        pick = np.sort(rng.choice(len(items), size=min(self.size, len(items)), replace=False))
        res = self.result()
        for f in FIELDS:
            scores = self_bleu_scores([getattr(items[i], f) for i in pick])
            res.values[f"{f}.self_bleu"] = float(np.mean(scores)) if scores else None
            if scores:
                res.distributions[f"{f}.self_bleu"] = distribution(scores)
        res.values["sample_size"] = len(pick)
        return res
