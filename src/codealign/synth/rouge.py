"""ROUGE-L between short texts, and an index that finds a new text's best ROUGE-L match in a growing pool, fast.

Self-Instruct keeps a generated task only when its ROUGE-L F1 against every task kept so far is below 0.7. Done
pair by pair with a dynamic-programming table that is quadratic in the pool and in the text length. Here:

- texts are tokenised as the `rouge-score` package does without stemming (lower case, runs of anything but a-z
  and 0-9 split tokens), and F1 is computed with its formula, so the values are identical;
- the LCS of two token sequences is computed bit-parallel (one pass over one sequence, machine-word operations on
  Python integers over the other), not with a table;
- the pool keeps an inverted index of token counts, so the multiset overlap of a new text with every pooled text,
  an upper bound of their LCS, comes from one numpy pass; only texts whose bound could beat the best score found so
  far get an exact LCS, best bound first (branch and bound). The result is the exact maximum.

`benchmarks/rouge.py` compares it with `rouge-score` on the same pairs.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """rouge-score's tokens without stemming: lower case, split on anything that is not a-z or 0-9."""
    return _NON_ALNUM.sub(" ", text.lower()).split()


def fmeasure(lcs: int, len_a: int, len_b: int) -> float:
    """ROUGE-L F1 from an LCS length, with the same floating-point steps as rouge-score."""
    if not len_a or not len_b:
        return 0.0
    precision = lcs / len_b
    recall = lcs / len_a
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _masks(tokens: Sequence[object]) -> dict[object, int]:
    masks: dict[object, int] = {}
    for i, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << i)
    return masks


def _lcs_with_masks(masks: dict[object, int], length: int, other: Iterable[object]) -> int:
    # Hyyro's bit-vector LCS: bit i of v is 0 where the LCS of a[: i + 1] and the prefix of b grew by one.
    full = (1 << length) - 1
    v = full
    get = masks.get
    for token in other:
        match = get(token)
        if match:
            u = v & match
            v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


def lcs_length(a: Sequence[object], b: Sequence[object]) -> int:
    """Length of the longest common subsequence of two token sequences."""
    if not a or not b:
        return 0
    return _lcs_with_masks(_masks(a), len(a), b)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts (symmetric), equal to rouge-score's `RougeScorer(["rougeL"]).score(a, b)`."""
    ta, tb = tokenize(a), tokenize(b)
    return fmeasure(lcs_length(ta, tb), len(ta), len(tb))


class RougeIndex:
    """A pool of texts; `best(text)` is the highest ROUGE-L F1 of `text` against the pool and which text gives it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._docs: list[array] = []  # token ids per text
        self._vocab: dict[str, int] = {}
        self._post_docs: list[array] = []  # per token id: the texts holding it, in insertion order
        self._post_counts: list[array] = []  # per token id: how often each of those texts holds it
        self._lengths = array("i")

    def __len__(self) -> int:
        return len(self.texts)

    def _ids(self, tokens: list[str], grow: bool) -> list[int]:
        vocab = self._vocab
        if grow:
            for token in tokens:
                if token not in vocab:
                    vocab[token] = len(vocab)
                    self._post_docs.append(array("i"))
                    self._post_counts.append(array("i"))
            return [vocab[t] for t in tokens]
        return [vocab.get(t, -1) for t in tokens]

    def add(self, text: str) -> int:
        """Add a text; returns its position."""
        ids = self._ids(tokenize(text), grow=True)
        doc = len(self.texts)
        for token, count in Counter(ids).items():
            self._post_docs[token].append(doc)
            self._post_counts[token].append(count)
        self.texts.append(text)
        self._docs.append(array("i", ids))
        self._lengths.append(len(ids))
        return doc

    def truncate(self, size: int) -> None:
        """Forget every text added after the first `size` (postings are in insertion order, so this is cheap)."""
        for doc in range(len(self.texts) - 1, size - 1, -1):
            for token in set(self._docs[doc]):
                self._post_docs[token].pop()
                self._post_counts[token].pop()
        del self.texts[size:], self._docs[size:], self._lengths[size:]

    def best(self, text: str, floor: float = 0.0) -> tuple[float, int]:
        """(highest ROUGE-L F1, position of that text) over the pool; (0.0, -1) for an empty pool.

        With `floor` > 0, only matches scoring at least `floor` are searched for: the answer is exact when the best
        score reaches `floor`, and some score below it (with its position) otherwise.
        """
        tokens = tokenize(text)
        n = len(self.texts)
        if not n or not tokens:
            return 0.0, (0 if n else -1)
        ids = self._ids(tokens, grow=False)
        docs, weights = [], []
        for token, count in Counter(i for i in ids if i >= 0).items():
            docs.append(np.frombuffer(self._post_docs[token], dtype=np.int32))
            weights.append(np.minimum(np.frombuffer(self._post_counts[token], dtype=np.int32), count))
        if not docs:
            return 0.0, 0
        overlap = np.bincount(np.concatenate(docs), weights=np.concatenate(weights), minlength=n)
        lengths = np.frombuffer(self._lengths, dtype=np.int32)
        # F1 rises with the LCS, and the LCS is at most the multiset overlap: an upper bound per pooled text.
        bound = 2.0 * overlap / (lengths + len(tokens))
        candidates = np.flatnonzero(bound >= floor) if floor > 0 else np.flatnonzero(overlap > 0)
        if not len(candidates):
            return 0.0, 0
        order = candidates[np.argsort(-bound[candidates], kind="stable")]
        masks, length = _masks(ids), len(ids)
        best_score, best_doc = 0.0, int(order[0])
        for doc in order:
            if bound[doc] + 1e-12 < best_score:
                break
            doc = int(doc)
            score = fmeasure(_lcs_with_masks(masks, length, self._docs[doc]), int(lengths[doc]), length)
            if score > best_score:
                best_score, best_doc = score, doc
        return best_score, best_doc
