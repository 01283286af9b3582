"""Tokens and hashed n-grams shared by the lexical metrics (numpy arrays, so millions of n-grams stay cheap)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

# Words, numbers and single punctuation marks: code operators count as tokens, whitespace does not.
TOKEN = re.compile(r"\w+|[^\w\s]")
_PRIME = np.uint64(0x100000001B3)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text)


def token_hashes(docs: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every token of every doc, concatenated, and the doc index of each token.

    A token's hash depends only on its text (blake2b), so hashes agree across processes and runs.
    """
    vocab: dict[str, int] = {}
    ids: list[int] = []
    lengths = np.empty(len(docs), dtype=np.int64)
    for d, toks in enumerate(docs):
        lengths[d] = len(toks)
        ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
    table = np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little") for t in vocab),
        dtype=np.uint64,
        count=len(vocab),
    )
    hashes = table[np.asarray(ids, dtype=np.int64)] if ids else np.empty(0, dtype=np.uint64)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    return hashes, doc_of


def ngram_hashes(hashes: np.ndarray, doc_of: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of all n-grams that lie inside one doc, and the doc of each (no n-gram spans two docs)."""
    m = len(hashes) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    g = hashes[:m].copy()
    with np.errstate(over="ignore"):
        for k in range(1, n):
            g = g * _PRIME ^ hashes[k : k + m]
    inside = doc_of[:m] == doc_of[n - 1 : n - 1 + m]
    return g[inside], doc_of[:m][inside]
