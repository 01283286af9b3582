"""Exact and MinHash near-dedup of JSONL rows on a Ray cluster, with the same kept rows as one machine.

1. Reading tasks take byte ranges of the files (`ray.split_mb` each; a range owns the lines that start in it), parse
   each row once, and return its place (offset, line) to the driver: about 40 bytes a row. Its exact digest and
   its MinHash signature's LSH band rows (band, bucket key, row) stay in the object store, split into partitions
   by bucket key.
2. Exact tasks each take one partition of the digests and name every later copy of a digest a duplicate of its
   first copy in input order; the other rows take part in near-dedup.
3. Grouping tasks each take one partition from every reading task (whole buckets), drop rows that are not taking
   part, and find the candidate pairs of each bucket exactly as `NearDedupIndex` does; pairs are split by hash.
4. Checking tasks each take one share of the pairs, drop repeats, and compute the exact Jaccard of each pair by
   reading the two rows back from the files; only verified pairs reach the driver.
5. The driver joins verified pairs into clusters (union-find, order-independent) and keeps the smallest row.

Band rows never pass through the driver; it holds the row table and the verified pairs. Files must be on storage
every node can read at the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codealign.curate.dedup_rows import EXACT, KEEP, NEAR, NO_TEXT, Scan, text_problem

# a band row: bucket key, band, reading task, row within that task
BAND_ROW = np.dtype([("key", "<u8"), ("band", "<u2"), ("part", "<u4"), ("row", "<u4")])
# an exact-dedup row: the 128-bit digest of the text, reading task, row within that task
DIGEST_ROW = np.dtype([("hi", "<u8"), ("lo", "<u8"), ("part", "<u4"), ("row", "<u4")])
_PAIR_SHARES = 64  # pair codes are split by hash into this many shares before checking (capped by partitions)


@dataclass
class RangeResult:
    """What a reading task sends to the driver about its rows (band rows go elsewhere)."""

    node: str
    lines: int = 0
    lineno: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    status: bytearray = field(default_factory=bytearray)
    notes: dict[int, str] = field(default_factory=dict)  # row -> reason, with {line} for its line number
    bad: list[tuple[int, str]] = field(default_factory=list)
    not_utf8: int = 0
    first_keys: list[str] | None = None


@dataclass(frozen=True)
class LSHParams:
    field: str
    threshold: float
    num_perm: int
    ngram: int
    seed: int = 42
    max_bucket: int = 64

    def banding(self) -> tuple[int, int]:
        from codealign.curate.minhash import choose_bands

        return choose_bands(self.threshold, self.num_perm, 0.9)


def byte_ranges(files: Sequence[Path], split_bytes: int) -> list[tuple[int, int, int]]:
    """(file index, start, end) ranges of at most `split_bytes`, covering every file (an empty file gets one)."""
    out = []
    for f, path in enumerate(files):
        size = path.stat().st_size
        start = 0
        while True:
            end = min(size, start + split_bytes)
            out.append((f, start, end))
            if end >= size:
                break
            start = end
    return out


def read_range(path: str, part: int, start: int, end: int, params: LSHParams, partitions: int,
               signatures: bool, digests: bool) -> tuple[Any, ...]:  # fmt: skip
    """A reading task: (RangeResult, [band rows of partitions 0..P-1], [digest rows of partitions 0..P-1])."""
    import ray

    from codealign.curate.dedup import exact_key
    from codealign.curate.lines import parse_line, scan_lines, too_long
    from codealign.records import get_field

    res = RangeResult(node=ray.get_runtime_context().get_node_id())
    texts: list[bytes] = []
    text_rows: list[int] = []
    keys: list[bytes] = []
    for line in scan_lines(path, start, end):
        res.lines = line.lineno
        if line.raw is None:
            res.bad.append((line.lineno, too_long(line.end - line.offset)))
            continue
        if not line.raw.strip():
            continue
        obj, error, utf8 = parse_line(line.raw)
        res.not_utf8 += not utf8
        if obj is None:
            res.bad.append((line.lineno, error or ""))
            continue
        if res.first_keys is None:
            res.first_keys = list(obj)
        r = len(res.status)
        res.lineno.append(line.lineno)
        res.offset.append(line.offset)
        res.end.append(line.end)
        text = get_field(obj, params.field)
        problem = text_problem(text, params.field, -1)
        if problem is not None:
            res.status.append(NO_TEXT)
            res.notes[r] = problem.replace("line -1", "line {line}")
            continue
        raw = text.encode("utf-8", "surrogatepass")
        res.status.append(KEEP)
        text_rows.append(r)
        if digests:
            keys.append(exact_key(raw))
        if signatures:
            texts.append(raw)
    rows = np.asarray(text_rows, dtype=np.uint32)
    out: list[Any] = [res]
    if signatures:
        out += band_rows(texts, rows, part, params, partitions)
    if digests:
        out += digest_rows(keys, rows, part, partitions)
    return tuple(out)


def digest_rows(keys: list[bytes], rows: np.ndarray, part: int, partitions: int) -> list[np.ndarray]:
    """Each row's exact digest as DIGEST_ROW arrays, one per partition (by digest)."""
    pairs = np.frombuffer(b"".join(keys), dtype="<u8").reshape(-1, 2) if keys else np.empty((0, 2), dtype="<u8")
    out = np.empty(len(rows), dtype=DIGEST_ROW)
    out["hi"], out["lo"], out["part"], out["row"] = pairs[:, 0], pairs[:, 1], part, rows
    share = out["hi"] % np.uint64(partitions)
    return [out[share == p] for p in range(partitions)]


def exact_groups(base: np.ndarray, *parts: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """An exact task: (node, later copies, the first copy of each) among one partition of the digests."""
    import ray

    rows = np.concatenate(parts) if parts else np.empty(0, dtype=DIGEST_ROW)
    doc = base[rows["part"]] + rows["row"].astype(np.int64)
    order = np.lexsort((doc, rows["lo"], rows["hi"]))
    hi, lo, doc = rows["hi"][order], rows["lo"][order], doc[order]
    first = np.ones(len(doc), dtype=bool)
    first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    keeper = doc[np.maximum.accumulate(np.where(first, np.arange(len(doc)), 0))]
    return ray.get_runtime_context().get_node_id(), doc[~first], keeper[~first]


def band_rows(texts: list[bytes], rows: np.ndarray, part: int, params: LSHParams, partitions: int) -> list[np.ndarray]:
    """Each row's bucket key in every band, as BAND_ROW arrays, one per partition.

    A bucket (band, key) goes whole to the partition `key % partitions`, so a grouping task sees complete buckets
    and the number of partitions is free of the number of bands.
    """
    from codealign.curate.minhash import EMPTY, MinHasher, band_keys

    bands, rows_per_band = params.banding()
    hasher = MinHasher(params.num_perm, params.ngram, params.seed)
    pieces: list[list[np.ndarray]] = [[] for _ in range(partitions)]
    start = 0
    while start < len(texts):  # about 1 MB of text per batch, as NearDedupIndex hashes
        stop, size = start, 0
        while stop < len(texts) and (size < 1 << 20 or stop == start):
            size += len(texts[stop])
            stop += 1
        sigs = hasher.signatures(texts[start:stop])
        nonempty = sigs[:, 0] != EMPTY  # documents without tokens never match anything
        keys = band_keys(sigs[nonempty], bands, rows_per_band)
        docs = rows[start:stop][nonempty]
        out = np.empty(keys.size, dtype=BAND_ROW)  # document-major: each document's bands in turn
        out["key"] = keys.ravel()
        out["band"] = np.tile(np.arange(bands, dtype=np.uint16), len(docs))
        out["part"], out["row"] = part, np.repeat(docs, bands)
        share = out["key"] % np.uint64(partitions)
        order = np.argsort(share, kind="stable")
        bounds = np.searchsorted(share[order], np.arange(partitions + 1, dtype=np.uint64))
        for p in range(partitions):
            pieces[p].append(out[order[bounds[p] : bounds[p + 1]]])
        start = stop
    return [np.concatenate(p) if p else np.empty(0, dtype=BAND_ROW) for p in pieces]


def group_buckets(base: np.ndarray, alive: np.ndarray, shares: int, max_bucket: int, *parts: np.ndarray
                  ) -> tuple[Any, ...]:  # fmt: skip
    """A grouping task: candidate pairs (global row codes) of the buckets in one partition, split into `shares`."""
    import ray

    from codealign.curate.dedup import _ROW, band_pairs

    node = ray.get_runtime_context().get_node_id()
    rows = np.concatenate(parts) if parts else np.empty(0, dtype=BAND_ROW)
    doc = base[rows["part"]] + rows["row"].astype(np.int64)
    rows, doc = rows[alive[doc]], doc[alive[doc]]
    codes = []
    for b in np.unique(rows["band"]).tolist():
        sel = rows["band"] == b
        band = np.empty(int(sel.sum()), dtype=_ROW)
        band["key"], band["doc"] = rows["key"][sel], doc[sel]
        codes.append(band_pairs(band, max_bucket))
    pairs = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.uint64)
    share = _mix(pairs) % np.uint64(shares)
    return (node, *[pairs[share == s] for s in range(shares)])


def check_pairs(files: list[str], where: dict[str, np.ndarray], params: LSHParams, *parts: np.ndarray
                ) -> tuple[str, int, np.ndarray]:  # fmt: skip
    """A checking task: (node, distinct candidates, verified pairs as an (n, 2) array) for one share of the pairs."""
    import ray

    from codealign.curate.dedup import verify_pairs
    from codealign.curate.lines import parse_line, read_span
    from codealign.records import get_field

    node = ray.get_runtime_context().get_node_id()
    pairs = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)
    handles: dict[int, Any] = {}

    def text(r: int) -> str:
        f = int(where["file"][r])
        if f not in handles:
            handles[f] = open(files[f], "rb")  # noqa: SIM115 - closed below
        obj, _, _ = parse_line(read_span(handles[f], int(where["offset"][r]), int(where["end"][r])))
        return get_field(obj, params.field)

    try:
        verified = verify_pairs(pairs, text, params.threshold, params.ngram)
    finally:
        for fh in handles.values():
            fh.close()
    return node, len(pairs), np.asarray([(i, j) for i, j, _ in verified], dtype=np.int64).reshape(-1, 2)


def _mix(codes: np.ndarray) -> np.ndarray:
    from codealign.curate.minhash import _mix64

    with np.errstate(over="ignore"):
        return _mix64(codes.copy())


class ClusterLSH:
    """The reading pass and the near-dedup passes above, for one set of JSONL files."""

    def __init__(self, executor: Any, files: Sequence[Path], params: LSHParams, signatures: bool = True,
                 digests: bool = True) -> None:  # fmt: skip
        self.ex = executor
        self.files = [Path(f) for f in files]
        self.params = params
        self.signatures = signatures
        self.digests = digests
        bands, _ = params.banding()
        self.partitions = executor.options.partitions or max(1, (bands + 3) // 4)
        self.ranges = byte_ranges(self.files, max(1, int(executor.options.split_mb * 1e6)))
        self._band_refs: list[list[Any]] = []
        self._digest_refs: list[list[Any]] = []
        self._base: Any = None

    def read(self, on_range: Callable[[RangeResult], None] | None = None) -> list[RangeResult]:
        """Run the reading tasks; range results in file order, band and digest rows left in the object store."""
        bands = self.partitions if self.signatures else 0
        returns = 1 + bands + (self.partitions if self.digests else 0)
        task = self.ex.remote(read_range, num_returns=returns)
        refs = [task.remote(str(self.files[f]), part, start, end, self.params, self.partitions, self.signatures,
                            self.digests) for part, (f, start, end) in enumerate(self.ranges)]  # fmt: skip
        results = []
        for part_refs in refs:
            part_refs = part_refs if isinstance(part_refs, list) else [part_refs]
            res = self.ex.get(part_refs[0])
            self.ex.count([res.node])
            results.append(res)
            self._band_refs.append(part_refs[1 : 1 + bands])
            self._digest_refs.append(part_refs[1 + bands :])
            if on_range is not None:
                on_range(res)
        counts = [len(r.status) for r in results]
        self._base = self.ex.ray.put(np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64))
        return results

    def exact_duplicates(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, the row it is an exact copy of) for every later copy, rows numbered globally in range order."""
        task = self.ex.remote(exact_groups)
        refs = [task.remote(self._base, *[parts[p] for parts in self._digest_refs]) for p in range(self.partitions)]
        self._digest_refs = []
        dups, keepers = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
        for node, dup, keeper in self.ex.get(refs):
            self.ex.count([node])
            dups.append(dup)
            keepers.append(keeper)
        return np.concatenate(dups), np.concatenate(keepers)

    def verified_pairs(self, alive: np.ndarray, where: dict[str, np.ndarray]) -> tuple[int, np.ndarray]:
        """(distinct candidate pairs, verified pairs) among the rows where `alive` is True.

        Rows are numbered globally in range order; `where` holds each row's file index, offset and end, for reading
        rows back.
        """
        ray = self.ex.ray
        base_ref, alive_ref, where_ref = self._base, ray.put(alive), ray.put(where)
        shares = max(1, min(_PAIR_SHARES, self.partitions))
        group = self.ex.remote(group_buckets, num_returns=1 + shares)
        grouped = []
        for p in range(self.partitions):
            refs = group.remote(base_ref, alive_ref, shares, self.params.max_bucket,
                                *[parts[p] for parts in self._band_refs])  # fmt: skip
            grouped.append(refs if isinstance(refs, list) else [refs])
        self._band_refs = []  # the band rows can go once every grouping task holds its references
        check = self.ex.remote(check_pairs)
        files = [str(f) for f in self.files]
        checks = [check.remote(files, where_ref, self.params, *[g[1 + s] for g in grouped]) for s in range(shares)]
        self.ex.count(self.ex.get([g[0] for g in grouped]))
        candidates = 0
        verified = []
        for node, n, pairs in self.ex.get(checks):
            self.ex.count([node])
            candidates += n
            verified.append(pairs)
        return candidates, np.concatenate(verified) if verified else np.empty((0, 2), dtype=np.int64)


class ClusterScan(Scan):
    """`Scan` of the dedup command, done by ClusterLSH; fills the same row table and decisions."""

    near_stats: dict[str, Any] | None = None
    executor: dict[str, Any] | None = None


def cluster_scan(files: list[Path], field: str, threshold: float, num_perm: int, ngram: int, exact_only: bool,
                 executor: Any, on_rows: Callable[[int], None] | None = None) -> ClusterScan:  # fmt: skip
    """Read, exact-dedup and near-dedup JSONL files on the cluster; see the module docstring."""
    from codealign.curate.dedup import keep_from_pairs
    from codealign.records import BadLine
    from codealign.scale.executor import RayExecutor

    ex = executor if isinstance(executor, RayExecutor) else RayExecutor(executor.ray)
    try:
        params = LSHParams(field, threshold, num_perm, ngram)
        lsh = ClusterLSH(ex, files, params, signatures=not exact_only)
        scan = ClusterScan(files, field)
        t = scan.table
        lines_before = {f: 0 for f in range(len(files))}
        for (f, _, _), res in zip(lsh.ranges, lsh.read(), strict=True):
            before = lines_before[f]
            lines_before[f] += res.lines
            for lineno, reason in res.bad:
                scan.bad.append(BadLine(str(files[f]), before + lineno, reason))
            scan.not_utf8 += res.not_utf8
            if scan.first_row_keys is None:
                scan.first_row_keys = res.first_keys
            for k in range(len(res.status)):
                lineno = before + res.lineno[k]
                r = t.add(f, res.offset[k], res.end[k], lineno, res.status[k])
                if res.status[k] == NO_TEXT:
                    t.note[r] = res.notes[k].format(line=lineno)
                else:
                    scan.seen_field = True
            if on_rows is not None:
                on_rows(len(res.status))
        dup, first = lsh.exact_duplicates()
        for r, j in zip(dup.tolist(), first.tolist(), strict=True):
            t.status[r], t.of[r] = EXACT, j
        alive = np.frombuffer(bytes(t.status), dtype=np.uint8) == KEEP
        scan.near_rows.extend(np.nonzero(alive)[0].tolist())
        if not exact_only and scan.seen_field:
            n = len(t)
            where = {"file": np.asarray(t.file, dtype=np.uint32), "offset": np.asarray(t.offset, dtype=np.int64),
                     "end": np.asarray(t.end, dtype=np.int64)}  # fmt: skip
            candidates, pairs = lsh.verified_pairs(alive, where)
            keep, keeper, clusters = keep_from_pairs(n, pairs.tolist())
            removed = np.nonzero(~keep)[0]
            for r in removed.tolist():
                t.status[r], t.of[r] = NEAR, int(keeper[r])
            bands, rows = params.banding()
            scan.near_stats = {"documents": len(scan.near_rows), "candidate_pairs": candidates,
                               "verified_pairs": len(pairs), "clusters": clusters, "removed": len(removed),
                               "bands": bands, "rows": rows}  # fmt: skip
        scan.executor = ex.describe()
        return scan
    finally:
        if ex is not executor:
            ex.close()


def near_dedup_file(executor: Any, path: Path, field: str, alive: Sequence[int], rank: Sequence[Any],
                    threshold: float, num_perm: int, ngram: int, on_rows: Callable[[int], None] | None = None
                    ) -> tuple[np.ndarray, list[int], dict[str, Any]]:  # fmt: skip
    """Near-dedup of the rows `alive` of one JSONL file whose every line is a row (curate's spill file).

    Returns, for the alive rows in order, the keep mask and the row kept in place of each, and the index stats:
    the same as `NearDedupIndex` over those rows with `rank` (indexed by row of the file).
    """
    from codealign.curate.dedup import keep_from_pairs

    params = LSHParams(field, threshold, num_perm, ngram)
    lsh = ClusterLSH(executor, [path], params, digests=False)
    offset: list[int] = []
    end: list[int] = []
    for res in lsh.read():
        offset += res.offset
        end += res.end
    n = len(offset)
    wanted = np.zeros(n, dtype=bool)
    wanted[np.asarray(alive, dtype=np.int64)] = True
    where = {"file": np.zeros(n, dtype=np.uint32), "offset": np.asarray(offset, dtype=np.int64),
             "end": np.asarray(end, dtype=np.int64)}  # fmt: skip
    if on_rows is not None:
        on_rows(len(alive))
    candidates, pairs = lsh.verified_pairs(wanted, where)
    keep, keeper, clusters = keep_from_pairs(n, pairs.tolist(), rank)
    idx = np.asarray(alive, dtype=np.int64)
    bands, rows = params.banding()
    stats = {"documents": len(alive), "candidate_pairs": candidates, "verified_pairs": len(pairs),
             "clusters": clusters, "removed": int((~keep[idx]).sum()), "bands": bands, "rows": rows}  # fmt: skip
    return keep[idx], keeper[idx].tolist(), stats
