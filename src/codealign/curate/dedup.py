"""Exact and near-duplicate detection: MinHash LSH with disk-sharded buckets, exact-Jaccard checks, union-find.

`NearDedupIndex` streams documents in, writes each LSH band's (bucket key, doc index) rows to its own file, and
later processes one band at a time, so memory holds one band's rows, not the corpus. Every candidate pair is
checked against the exact Jaccard of the two documents' shingle sets before it may join a cluster. The keeper of a
cluster is the member with the smallest rank (input order unless a rank is given).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codealign.curate.minhash import EMPTY, MinHasher, band_keys, choose_bands, jaccard, shingle_set
from codealign.errors import FileAccessError

_ROW = np.dtype([("key", "<u8"), ("doc", "<u4")])
_WORKER_HASHER: MinHasher | None = None


def _worker_init(num_perm: int, ngram: int, seed: int) -> None:
    global _WORKER_HASHER
    _WORKER_HASHER = MinHasher(num_perm, ngram, seed)


def _worker_signatures(texts: list[bytes]) -> np.ndarray:
    assert _WORKER_HASHER is not None
    return _WORKER_HASHER.signatures(texts)


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def exact_key(text: str | bytes) -> bytes:
    """Content digest used for exact dedup (blake2b-128 of the raw UTF-8 bytes)."""
    return hashlib.blake2b(_as_bytes(text), digest_size=16).digest()


def exact_dedup_mask(texts: Iterable[str | bytes], rank: Sequence[Any] | None = None) -> list[bool]:
    """True for the one copy kept of each exact duplicate group (smallest rank, then first in input order)."""
    best: dict[bytes, int] = {}
    keys = []
    for i, text in enumerate(texts):
        k = exact_key(text)
        keys.append(k)
        j = best.get(k)
        if j is None or (rank is not None and rank[i] < rank[j]):
            best[k] = i
    return [best[k] == i for i, k in enumerate(keys)]


@dataclass
class DedupStats:
    documents: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    clusters: int = 0
    removed: int = 0
    bands: int = 0
    rows: int = 0


class NearDedupIndex:
    """Disk-backed MinHash LSH over a stream of documents; see the module docstring."""

    def __init__(
        self,
        threshold: float = 0.7,
        num_perm: int = 256,
        ngram: int = 5,
        min_recall: float = 0.9,
        seed: int = 42,
        workdir: str | Path | None = None,
        max_bucket: int = 64,
        keep_texts: bool = True,
    ) -> None:
        self.threshold = threshold
        self.num_perm, self.ngram, self.seed = num_perm, ngram, seed
        self.bands, self.rows = choose_bands(threshold, num_perm, min_recall)
        self.hasher = MinHasher(num_perm, ngram, seed)
        self.max_bucket = max_bucket
        self.stats = DedupStats(bands=self.bands, rows=self.rows)
        try:
            self._dir = Path(tempfile.mkdtemp(prefix="codealign-lsh-", dir=workdir))
        except OSError as exc:
            raise FileAccessError.wrap(exc, workdir or tempfile.gettempdir(), "write") from None
        self._band_files = [open(self._dir / f"band{b:03d}.bin", "ab") for b in range(self.bands)]  # noqa: SIM115
        self._keep_texts = keep_texts
        self._texts = open(self._dir / "texts.bin", "ab") if keep_texts else None  # noqa: SIM115
        self._offsets = array("q", [0])
        self.n = 0
        self.verified: list[tuple[int, int, float]] = []

    # -- building -------------------------------------------------------------------------------------------

    def add_signatures(self, sigs: np.ndarray, texts: Sequence[bytes] | None = None) -> None:
        try:
            self._add_signatures(sigs, texts)
        except OSError as exc:
            raise FileAccessError.wrap(exc, self._dir, "write") from None

    def _add_signatures(self, sigs: np.ndarray, texts: Sequence[bytes] | None) -> None:
        n = sigs.shape[0]
        docs = np.arange(self.n, self.n + n, dtype=np.uint32)
        nonempty = sigs[:, 0] != EMPTY  # documents without tokens never match anything
        keys = band_keys(sigs[nonempty], self.bands, self.rows)
        rows = np.empty(len(keys), dtype=_ROW)
        rows["doc"] = docs[nonempty]
        for b in range(self.bands):
            rows["key"] = keys[:, b]
            rows.tofile(self._band_files[b])
        if self._texts is not None:
            assert texts is not None
            for t in texts:
                self._texts.write(t)
                self._offsets.append(self._offsets[-1] + len(t))
        self.n += n

    def add(self, texts: Sequence[str | bytes]) -> None:
        raw = [_as_bytes(t) for t in texts]
        self.add_signatures(self.hasher.signatures(raw), raw)

    def add_stream(
        self,
        texts: Iterable[str | bytes],
        workers: int = 1,
        batch_bytes: int = 1 << 20,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        """Add documents from an iterator in batches, hashing on `workers` processes; `on_batch(docs, bytes)`."""
        batches = _batched(texts, batch_bytes)
        if workers <= 1:
            for raw in batches:
                self.add_signatures(self.hasher.signatures(raw), raw)
                if on_batch:
                    on_batch(len(raw), sum(map(len, raw)))
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # fork is unsafe next to rich's refresh thread
        from codealign.interrupts import process_pool

        with process_pool(workers, ctx, _worker_init, (self.num_perm, self.ngram, self.seed)) as pool:
            window: list[tuple[Future, list[bytes]]] = []
            for raw in batches:
                window.append((pool.submit(_worker_signatures, raw), raw))
                if len(window) >= 2 * workers:
                    self._drain(window.pop(0), on_batch)
            while window:
                self._drain(window.pop(0), on_batch)

    def _drain(self, item: tuple[Future, list[bytes]], on_batch: Callable[[int, int], None] | None) -> None:
        fut, raw = item
        self.add_signatures(fut.result(), raw)
        if on_batch:
            on_batch(len(raw), sum(map(len, raw)))

    # -- querying -------------------------------------------------------------------------------------------

    def text(self, i: int) -> bytes:
        if self._texts is None:
            raise ValueError("this index was built with keep_texts=False; pass get_text")
        self._texts.flush()
        with open(self._dir / "texts.bin", "rb") as fh:
            fh.seek(self._offsets[i])
            return fh.read(self._offsets[i + 1] - self._offsets[i])

    def candidate_pairs(self) -> np.ndarray:
        """Distinct candidate pairs as uint64 codes `i << 32 | j` with i < j, one band file in memory at a time."""
        try:
            for fh in self._band_files:
                fh.flush()
        except OSError as exc:
            raise FileAccessError.wrap(exc, self._dir, "write") from None
        codes = [band_pairs(np.fromfile(self._dir / f"band{b:03d}.bin", dtype=_ROW), self.max_bucket)
                 for b in range(self.bands)]  # fmt: skip
        return np.unique(np.concatenate(codes))

    def verified_pairs(self, get_text: Callable[[int], str | bytes] | None = None) -> list[tuple[int, int, float]]:
        """Candidate pairs whose exact shingle Jaccard is at least the threshold."""
        pairs = self.candidate_pairs()
        self.stats.candidate_pairs = len(pairs)
        out = verify_pairs(pairs, get_text or self.text, self.threshold, self.ngram)
        self.stats.verified_pairs = len(out)
        self.verified = out
        return out

    def keep_mask(
        self, rank: Sequence[Any] | None = None, get_text: Callable[[int], str | bytes] | None = None
    ) -> np.ndarray:
        """True for each document kept: the smallest-rank member of its cluster (then the earliest).

        Afterwards `self.keeper[i]` is the index of the document kept in place of document i.
        """
        keep, self.keeper, clusters = keep_from_pairs(self.n, self.verified_pairs(get_text), rank)
        self.stats.documents = self.n
        self.stats.clusters = clusters
        self.stats.removed = int((~keep).sum())
        return keep

    def close(self) -> None:
        # Closing flushes; on a full disk that fails again, and the scratch folder must go all the same.
        for fh in [*self._band_files, *([self._texts] if self._texts is not None else [])]:
            with contextlib.suppress(OSError):
                fh.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> NearDedupIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def band_pairs(rows: np.ndarray, max_bucket: int = 64) -> np.ndarray:
    """Candidate pair codes (`i << 32 | j`, i < j, possibly repeated) from one band's (key, doc) rows.

    All pairs among the first `max_bucket` members of a bucket (by document index); later members pair with those
    only, so one huge bucket costs linear, not quadratic, work.
    """
    if len(rows) < 2:
        return np.empty(0, dtype=np.uint64)
    order = np.argsort(rows["key"], kind="stable")
    keys, docs = rows["key"][order], rows["doc"][order].astype(np.uint64)
    same = keys[1:] == keys[:-1]
    if not same.any():
        return np.empty(0, dtype=np.uint64)
    starts = np.nonzero(np.concatenate(([True], ~same)))[0]
    sizes = np.diff(np.append(starts, len(keys)))
    # most buckets hold two documents: pair those in one vectorised step
    two = starts[sizes == 2]
    lo, hi = np.minimum(docs[two], docs[two + 1]), np.maximum(docs[two], docs[two + 1])
    codes = [(lo << np.uint64(32)) | hi]
    for s, k in zip(starts[sizes > 2], sizes[sizes > 2], strict=True):
        members = np.sort(docs[s : s + k])
        head = members[:max_bucket]
        i, j = np.triu_indices(len(head), 1)
        codes.append((head[i] << np.uint64(32)) | head[j])
        if k > max_bucket:
            rest = members[max_bucket:]
            codes.append(((head[None, :] << np.uint64(32)) | rest[:, None]).ravel())
    return np.concatenate(codes)


def verify_pairs(pairs: np.ndarray, get_text: Callable[[int], str | bytes], threshold: float, ngram: int
                 ) -> list[tuple[int, int, float]]:  # fmt: skip
    """The pairs (uint64 codes, ascending) whose exact shingle Jaccard is at least `threshold`."""
    sets: dict[int, np.ndarray] = {}

    def shingles(d: int) -> np.ndarray:
        s = sets.get(d)
        if s is None:
            if len(sets) > 50_000:
                sets.clear()
            s = sets[d] = shingle_set(get_text(d), ngram)
        return s

    out = []
    for code in pairs.tolist():
        i, j = code >> 32, code & 0xFFFFFFFF
        sim = jaccard(shingles(i), shingles(j))
        if sim >= threshold:
            out.append((i, j, sim))
    return out


def keep_from_pairs(n: int, pairs: Iterable[tuple[int, ...]], rank: Sequence[Any] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """(keep mask, keeper of each document, number of clusters) from the verified pairs of `n` documents.

    Clusters are the connected components of the pairs (the same whatever order the pairs come in); the keeper
    of a cluster is its member with the smallest rank, then the smallest index.
    """
    parent = np.arange(n, dtype=np.int64)
    for i, j, *_ in pairs:
        ri, rj = _find(parent, int(i)), _find(parent, int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    for i in range(n):
        parent[i] = _find(parent, i)
    keep = np.ones(n, dtype=bool)
    keeper = np.arange(n, dtype=np.int64)
    members: dict[int, list[int]] = {}
    for d in np.nonzero(parent != np.arange(n))[0].tolist():
        members.setdefault(int(parent[d]), []).append(d)
    for root, others in members.items():
        group = [root, *others]
        best = min(group, key=(lambda d: (rank[d], d)) if rank is not None else (lambda d: d))
        keep[group] = False
        keep[best] = True
        keeper[group] = best
    return keep, keeper, len(members)


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def _batched(texts: Iterable[str | bytes], batch_bytes: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    size = 0
    for t in texts:
        raw = _as_bytes(t)
        batch.append(raw)
        size += len(raw)
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def near_dedup_mask(
    texts: Sequence[str], threshold: float = 0.7, num_perm: int = 256, ngram: int = 5
) -> list[bool]:
    """True = keep. The first of each near-duplicate cluster (exact-Jaccard verified) in input order is kept."""
    if not texts:
        return []
    with NearDedupIndex(threshold, num_perm, ngram, keep_texts=False) as index:
        for start in range(0, len(texts), 4096):
            chunk = [_as_bytes(t) for t in texts[start : start + 4096]]
            index.add_signatures(index.hasher.signatures(chunk))
        return index.keep_mask(get_text=lambda i: texts[i]).tolist()
