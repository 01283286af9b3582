"""MinHash signatures computed with numpy over every shingle of a batch of documents at once.

Tokens are maximal runs of ASCII letters, digits, `_` and non-ASCII bytes in the ASCII-lower-cased UTF-8 text (the
`\\W+` split of BigCode/text-dedup, byte-wise). A shingle is `ngram` consecutive tokens, hashed to 64 bits by a
polynomial over per-token 64-bit hashes. A document with fewer than `ngram` tokens gets one shingle made of all its
tokens, so short documents match only documents with the same tokens instead of all landing in one bucket.
Permutations follow datasketch's affine32 scheme: a 32-bit mix of the shingle hash, then `a*h + b mod 2**32` with odd `a`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

_TOKEN = re.compile(rb"[a-z0-9_\x80-\xff]+")
_P = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
EMPTY = np.uint32(0xFFFFFFFF)


_BASE = 0x100000001B3
_POW = np.ones(1, dtype=np.uint64)  # _BASE**k mod 2**64, grown on demand
_INV = np.ones(1, dtype=np.uint64)  # inverse powers


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    global _POW, _INV
    if len(_POW) < n:
        size = 1 << (n - 1).bit_length()
        with np.errstate(over="ignore"):
            _POW = np.cumprod(np.full(size, _BASE, dtype=np.uint64))
            _POW = np.concatenate((np.ones(1, dtype=np.uint64), _POW[:-1]))
            _INV = np.cumprod(np.full(size, pow(_BASE, -1, 2**64), dtype=np.uint64))
            _INV = np.concatenate((np.ones(1, dtype=np.uint64), _INV[:-1]))
    return _POW, _INV


_WINDOW = 1 << 20  # bytes hashed at once: memory per document stays a few times its size, whatever its size


def token_hashes(texts: Sequence[bytes | str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every token of every text (concatenated in order) and the token count of each text.

    Works on the whole batch as one byte array, cut into windows of about 1 MiB at non-token bytes: token
    boundaries from a byte-class table, and each token's polynomial hash from one prefix sum per window, so no
    Python code runs per token and the arrays never outgrow a window (a 15 MB document costs megabytes, not
    gigabytes).
    """
    raw = [t if isinstance(t, bytes) else t.encode("utf-8", "surrogatepass") for t in texts]
    # "\n" is not a token byte, so no token spans two texts; one text is used as it is, not copied.
    joined = raw[0] if len(raw) == 1 else b"\n".join(raw)
    a = np.frombuffer(joined, dtype=np.uint8)
    n = len(a)
    if n == 0:
        return np.empty(0, dtype=np.uint64), np.zeros(len(raw), dtype=np.int64)
    lens = np.fromiter((len(t) for t in raw), dtype=np.int64, count=len(raw))
    text_start = np.cumsum(lens + 1) - (lens + 1)
    counts = np.zeros(len(raw), dtype=np.int64)
    hashes = []
    pos = 0
    while pos < n:
        end = min(pos + _WINDOW, n)
        while end < n and _is_token_byte(a[end - 1]) and _is_token_byte(a[end]):
            end -= 1  # back to a token boundary
            if end == pos:  # one token longer than a window: take it whole
                end = pos + _WINDOW
                while end < n and _is_token_byte(a[end]):
                    end += 1
                break
        window = np.frombuffer(joined[pos:end].lower(), dtype=np.uint8)  # lower-cased a window at a time
        h, st = _window_hashes(window)
        hashes.append(h)
        if len(raw) == 1:
            counts[0] += len(h)
        else:
            counts += np.bincount(np.searchsorted(text_start, st + pos, side="right") - 1, minlength=len(raw))
        pos = end
    flat = np.concatenate(hashes) if len(hashes) > 1 else hashes[0]
    return flat, counts


def _is_token_byte(b: int) -> bool:
    return b >= 0x80 or 97 <= b <= 122 or 65 <= b <= 90 or 48 <= b <= 57 or b == 95  # before lower-casing


def _window_hashes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hash and start offset of every token of one window of lower-cased bytes."""
    n = len(a)
    # token bytes: a-z, 0-9, "_" and every non-ASCII byte (comparisons are several times faster than a table lookup)
    word = np.zeros(n + 2, dtype=bool)
    inner = word[1:-1]
    np.greater_equal(a, 0x80, out=inner)
    inner |= (a >= 97) & (a <= 122)
    inner |= (a >= 48) & (a <= 57)
    inner |= a == 95
    edges = np.flatnonzero(word[1:] != word[:-1])  # alternating token starts and ends
    starts, ends = edges[0::2], edges[1::2]
    pw, inv = _powers(n + 1)
    with np.errstate(over="ignore"):
        prefix = np.empty(n + 1, dtype=np.uint64)
        prefix[0] = 0
        np.multiply(a, pw[:n], out=prefix[1:])
        np.cumsum(prefix, out=prefix)
        h = (prefix[ends] - prefix[starts]) * inv[starts]
        h += (ends - starts).astype(np.uint64)  # the length keeps "a" and "a\0"-like prefixes apart
        _mix64(h)
    return h, starts


def tokenize(data: bytes | str) -> list[bytes]:
    """The tokens `token_hashes` hashes, as bytes (for tools that need the words themselves)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return _TOKEN.findall(data.lower())


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def shingle_hashes(texts: Sequence[bytes | str], ngram: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """All shingle hashes (uint64, documents concatenated in order) and the number of shingles of each document."""
    flat, lens = token_hashes(texts)
    counts = np.where(lens >= ngram, lens - ngram + 1, np.minimum(lens, 1))
    total = int(lens.sum())
    with np.errstate(over="ignore"):
        if total >= ngram:
            span = total - ngram + 1
            sh = flat[:span].copy()
            for j in range(1, ngram):
                sh *= _P
                sh += flat[j : j + span]
            ends = np.cumsum(lens)
            starts = ends - lens
            # a shingle starting at position p is valid iff p + ngram <= end of the document it starts in
            doc_of = np.repeat(np.arange(len(lens)), lens)[:span]
            valid = np.arange(span) + ngram <= ends[doc_of]
            sh = sh[valid]
        else:
            starts = np.cumsum(lens) - lens
            sh = np.empty(0, dtype=np.uint64)
        short = np.nonzero((lens > 0) & (lens < ngram))[0]
        if len(short):
            # one shingle per short document, from all its tokens plus its length so "a" and "a a" differ
            extra = np.empty(len(short), dtype=np.uint64)
            for k, d in enumerate(short):
                v = np.uint64(lens[d])
                for tok in flat[starts[d] : starts[d] + lens[d]]:
                    v = v * _P + tok
                extra[k] = v
            # splice the short documents' shingles back into document order
            long_counts = np.where(lens >= ngram, lens - ngram + 1, 0)
            pos = np.cumsum(long_counts)[short]
            sh = np.insert(sh, pos, extra)
        _mix64(sh)
    return sh, counts


_CHUNK_TOKENS = 1 << 17  # shingles of one long document are made this many at a time


def _long_document(text: bytes | str) -> bool:
    return len(text) > _WINDOW


def _shingle_chunks(flat: np.ndarray, ngram: int) -> Iterator[np.ndarray]:
    """The shingle hashes of one document of at least `ngram` tokens, a bounded chunk at a time (the same values,
    in the same order, as `shingle_hashes` gives for it)."""
    span = len(flat) - ngram + 1
    with np.errstate(over="ignore"):
        for start in range(0, span, _CHUNK_TOKENS):
            stop = min(start + _CHUNK_TOKENS, span)
            sh = flat[start:stop].copy()
            for j in range(1, ngram):
                sh *= _P
                sh += flat[start + j : stop + j]
            _mix64(sh)
            yield sh


def shingle_set(text: bytes | str, ngram: int = 5) -> np.ndarray:
    """The sorted distinct shingle hashes of one document (what exact Jaccard is computed over)."""
    if _long_document(text):
        flat, _ = token_hashes([text])
        if len(flat) >= ngram:
            sh = np.concatenate(list(_shingle_chunks(flat, ngram)))
            del flat
            sh.sort()
            return sh[np.concatenate(([True], sh[1:] != sh[:-1]))]
    sh, _ = shingle_hashes([text], ngram)
    sh.sort()  # sort + mask: numpy 2's hash-based np.unique is several times slower here
    return sh[np.concatenate(([True], sh[1:] != sh[:-1]))] if len(sh) else sh


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted distinct hash arrays."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    pos = np.searchsorted(b, a)
    pos[pos == len(b)] = 0
    inter = int(np.count_nonzero(b[pos] == a))
    return inter / (len(a) + len(b) - inter)


class MinHasher:
    """`num_perm` affine permutations of 32-bit shingle hashes, drawn from `seed`."""

    def __init__(self, num_perm: int = 256, ngram: int = 5, seed: int = 42) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.ngram = ngram
        self.a = (rng.integers(0, 2**32, num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 2**32, num_perm, dtype=np.uint64).astype(np.uint32)

    def signatures(self, texts: Sequence[bytes | str]) -> np.ndarray:
        """(len(texts), num_perm) uint32; a document without tokens gets all 0xFFFFFFFF.

        A long document is hashed on its own, its shingles made and folded into its signature a chunk at a
        time, so memory stays a small multiple of its size."""
        long = [i for i, t in enumerate(texts) if _long_document(t)]
        if not long:
            return self._batch_signatures(texts)
        sigs = np.full((len(texts), self.num_perm), EMPTY, dtype=np.uint32)
        short = [i for i in range(len(texts)) if i not in set(long)]
        if short:
            sigs[short] = self._batch_signatures([texts[i] for i in short])
        for i in long:
            sigs[i] = self._long_signature(texts[i])
        return sigs

    def _long_signature(self, text: bytes | str) -> np.ndarray:
        flat, _ = token_hashes([text])
        if len(flat) < self.ngram:
            return self._batch_signatures([text])[0]
        sig = np.full(self.num_perm, EMPTY, dtype=np.uint32)
        with np.errstate(over="ignore"):
            for sh in _shingle_chunks(flat, self.ngram):
                h32 = (sh >> np.uint64(32)).astype(np.uint32)
                del sh
                buf = np.empty(len(h32), dtype=np.uint32)
                for i in range(self.num_perm):
                    np.multiply(h32, self.a[i], out=buf)
                    buf += self.b[i]
                    sig[i] = min(sig[i], buf.min())
        return sig

    def _batch_signatures(self, texts: Sequence[bytes | str]) -> np.ndarray:
        sh, counts = shingle_hashes(texts, self.ngram)
        sigs = np.full((len(texts), self.num_perm), EMPTY, dtype=np.uint32)
        if len(sh) == 0:
            return sigs
        h32 = (sh >> np.uint64(32)).astype(np.uint32)
        nonempty = counts > 0
        offsets = (np.cumsum(counts) - counts)[nonempty]
        buf = np.empty(len(h32), dtype=np.uint32)
        out = np.empty((self.num_perm, len(offsets)), dtype=np.uint32)
        with np.errstate(over="ignore"):
            for i in range(self.num_perm):
                np.multiply(h32, self.a[i], out=buf)
                buf += self.b[i]
                np.minimum.reduceat(buf, offsets, out=out[i])
        sigs[nonempty] = out.T
        return sigs


def catch_probability(j: float, bands: int, rows: int) -> float:
    """Probability that a pair with Jaccard `j` shares at least one LSH bucket."""
    return 1.0 - (1.0 - j**rows) ** bands


def choose_bands(threshold: float, num_perm: int = 256, min_recall: float = 0.9) -> tuple[int, int]:
    """(bands, rows) with a pair at `threshold` caught with probability >= min_recall and the fewest false candidates.

    Among the settings meeting the recall bound, the one with the smallest expected catch probability for pairs
    below the threshold (the integral of the S-curve over [0, threshold)) wins: fewer pairs to verify.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if catch_probability(threshold, bands, rows) < min_recall:
            continue
        steps = 200
        fp = sum(catch_probability(threshold * (k + 0.5) / steps, bands, rows) for k in range(steps)) / steps
        if best is None or fp < best[0] - 1e-12:
            best = (fp, bands, rows)
    if best is None:
        raise ValueError(f"no banding of {num_perm} permutations reaches recall {min_recall} at {threshold}")
    return best[1], best[2]


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: one hash per band of `rows` signature values."""
    n = sigs.shape[0]
    x = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        key = np.zeros((n, bands), dtype=np.uint64)
        for r in range(rows):
            key *= _P
            key += x[:, :, r] + np.uint64(r + 1)
        _mix64(key)
    return key


def expected_recall_note(threshold: float, bands: int, rows: int) -> str:
    p = catch_probability(threshold, bands, rows)
    return f"{bands} bands x {rows} rows: a pair at J={threshold:g} is caught with p={p:.3f}"


__all__ = [
    "MinHasher",
    "band_keys",
    "catch_probability",
    "choose_bands",
    "expected_recall_note",
    "jaccard",
    "shingle_hashes",
    "shingle_set",
    "tokenize",
]
