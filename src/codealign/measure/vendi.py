"""The Vendi score (Friedman & Dieng, 2023) of hashed n-gram features, computed through the feature-side Gram.

With unit-norm feature rows X (n x d), the kernel K = X X^T has k(x, x) = 1, and the non-zero eigenvalues of K / n
are those of X^T X / n (d x d). Accumulating X^T X chunk by chunk makes the cost linear in n, and memory d^2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codealign.measure.text import ngram_hashes, token_hashes, tokenize


def vendi_from_eigenvalues(eigenvalues: np.ndarray, n: int) -> float:
    """exp(Shannon entropy of the eigenvalues of K/n); tiny negative round-off is dropped."""
    w = np.asarray(eigenvalues, dtype=np.float64) / n
    w = w[w > 1e-12]
    return float(np.exp(-(w * np.log(w)).sum()))


def vendi_from_gram(gram: np.ndarray, n: int) -> float:
    """Vendi of n items from either side's Gram: X^T X (features) or X X^T (items); the spectra agree."""
    return vendi_from_eigenvalues(np.linalg.eigvalsh(gram), n)


def vendi_from_features(x: np.ndarray) -> float:
    """Vendi of the rows of `x` (normalised here) under the cosine kernel, on whichever side of the Gram is smaller."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    n, d = x.shape
    return vendi_from_gram(x.T @ x if d < n else x @ x.T, n)


def hashed_features(texts: Sequence[str], ngram: int, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse unit-norm rows of signed-hashed n-gram counts: (row, column, value) arrays.

    The sign bit makes colliding n-grams cancel in expectation, so the dot product of two rows estimates the cosine
    of their exact n-gram count vectors. A text with fewer than `ngram` tokens is one feature: its whole token run.
    """
    docs = [tokenize(t) for t in texts]
    return features_from_tokens([len(d) for d in docs], *token_hashes(docs), ngram, dim)


def features_from_tokens(
    counts: Sequence[int], hashes: np.ndarray, doc_of: np.ndarray, ngram: int, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`hashed_features` from token hashes already computed (see `codealign.measure.text.chunk_tokens`)."""
    n_docs = len(counts)
    grams, rows = ngram_hashes(hashes, doc_of, ngram)
    lengths = np.asarray(counts, dtype=np.int64)
    short = np.flatnonzero(lengths < ngram)
    if short.size:
        whole = np.array([_run_hash(hashes, doc_of, int(i)) for i in short], dtype=np.uint64)
        grams = np.concatenate([grams, whole])
        rows = np.concatenate([rows, short])
    cols = (grams % np.uint64(dim)).astype(np.int64)
    signs = np.where((grams >> np.uint64(63)) == 1, -1.0, 1.0)
    key = rows * dim + cols
    order = np.argsort(key, kind="stable")
    key, signs = key[order], signs[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else np.empty(0, np.int64)
    uniq = key[starts]
    vals = np.add.reduceat(signs, starts) if len(key) else np.empty(0)
    keep = vals != 0
    uniq, vals = uniq[keep], vals[keep]
    r, c = uniq // dim, uniq % dim
    norms = np.sqrt(np.bincount(r, weights=vals * vals, minlength=n_docs))
    vals = vals / norms[r]
    return r, c, vals


def _run_hash(hashes: np.ndarray, doc_of: np.ndarray, doc: int) -> int:
    lo, hi = np.searchsorted(doc_of, [doc, doc + 1])
    acc = 0x9E3779B97F4A7C15
    for h in hashes[lo:hi].tolist():
        acc = ((acc * 0x100000001B3) ^ h) & 0xFFFFFFFFFFFFFFFF
    return acc


def dense(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, dim: int) -> np.ndarray:
    x = np.zeros((n_rows, dim), dtype=np.float32)
    x[rows, cols] = vals
    return x
