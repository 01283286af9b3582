"""Tokens and hashed n-grams shared by the lexical metrics (numpy arrays, so millions of n-grams stay cheap)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from itertools import chain

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
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    flat = list(chain.from_iterable(docs))
    # dict.fromkeys and map run in C: one Python-level step per distinct token, not per token.
    index = {t: i for i, t in enumerate(dict.fromkeys(flat))}
    table = np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little") for t in index),
        dtype=np.uint64,
        count=len(index),
    )
    ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
    hashes = table[ids] if len(flat) else np.empty(0, dtype=np.uint64)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    return hashes, doc_of


def chunk_tokens(chunk: Sequence, field: str, memo: dict | None) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(token counts per record, token hashes, doc index per token) of one field of a chunk, memoised per chunk so
    every lexical metric tokenises a record once."""
    key = ("tokens", field)
    if memo is not None and key in memo:
        return memo[key]
    docs = [tokenize(getattr(it, field)) for it in chunk]
    out = ([len(d) for d in docs], *token_hashes(docs))
    if memo is not None:
        memo[key] = out
    return out


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2's hash-based unique is many times slower on large uint64 arrays."""
    if len(values) == 0:
        return values
    a = np.sort(values)
    return a[np.concatenate(([True], a[1:] != a[:-1]))]


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
