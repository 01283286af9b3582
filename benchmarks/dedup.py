"""Near-dedup of the running interpreter's Python files: codealign vs datasketch (MinHash + MinHashLSH), same run.

Both tools see the same documents, the same shingles (word 5-grams over the same tokens) and 256 permutations.
datasketch runs as a user would: `MinHash(num_perm=256)` with its default hash, `MinHashLSH(threshold, num_perm)`
with its default banding, insert everything, query everything. codealign runs `NearDedupIndex` end to end
(signatures, disk-sharded LSH, exact-Jaccard check of every candidate, union-find). Each tool runs in its own
process so its peak memory is its own. Ground truth: the exact Jaccard, over Python sets of shingle strings, of
every pair that either tool proposed; pairs at or above the threshold are the true duplicates.

Then the same comparison one level up, as commands a user runs on a JSONL file (one row per file, `content` and
`path`), start-up, reading, writing the kept rows and the rejects included: `codealign dedup` (1 and 2 processes)
against a datasketch script that reads the rows, queries `MinHashLSH` and inserts each new row, and writes the rows
it keeps. Wall and CPU seconds of each command's whole process tree.

    .venv/bin/python benchmarks/dedup.py --limit-mb 160
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import resource
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

TOKEN = re.compile(rb"[a-z0-9_\x80-\xff]+")


def corpus(limit_mb: float) -> list[Path]:
    """.py files of the stdlib, then site-packages, in sorted order, up to limit_mb."""
    roots = [Path(sysconfig.get_paths()["stdlib"])] + [Path(p) for p in site.getsitepackages()]
    seen, files, total = set(), [], 0
    for root in roots:
        for p in sorted(root.rglob("*.py")):
            try:
                real = p.resolve()
                size = p.stat().st_size
            except OSError:
                continue
            if real in seen or not p.is_file():
                continue
            seen.add(real)
            files.append(p)
            total += size
            if total >= limit_mb * 1e6:
                return files
    return files


def read_all(files: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in files]


def shingles(data: bytes, n: int = 5) -> set[bytes]:
    toks = TOKEN.findall(data.lower())
    if len(toks) < n:
        return {b" ".join(toks)} if toks else set()
    return {b" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: the machine may be shared, so wall time alone misleads."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_codealign(files: list[Path], threshold: float, workers: int, q: mp.Queue) -> None:
    from codealign.curate.dedup import NearDedupIndex

    t0 = time.perf_counter()
    # the files stay on disk, so candidates are checked by re-reading them instead of spilling a copy
    with NearDedupIndex(threshold, 256, 5, keep_texts=False) as index:
        index.add_stream((p.read_bytes() for p in files), workers=workers)
        t_sig = time.perf_counter() - t0
        keep = index.keep_mask(get_text=lambda i: files[i].read_bytes())
        pairs = index.verified
        cands = index.stats.candidate_pairs
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put({"seconds": elapsed, "cpu": cpu_seconds(), "signatures_s": t_sig, "pairs": {(i, j) for i, j, _ in pairs},
           "candidates": cands,
           "removed": int((~keep).sum()), "rss_mb": rss, "bands": f"{index.bands}x{index.rows}"})  # fmt: skip


def run_datasketch(files: list[Path], threshold: float, q: mp.Queue) -> None:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=256)
    sketches = []
    for i, p in enumerate(files):
        m = MinHash(num_perm=256)
        sh = shingles(p.read_bytes())
        if sh:
            m.update_batch(sh)
            lsh.insert(i, m)
        sketches.append(m if sh else None)
    t_sig = time.perf_counter() - t0
    pairs = set()
    for i, m in enumerate(sketches):
        if m is None:
            continue
        for j in lsh.query(m):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    b, r = lsh.b, lsh.r
    q.put({"seconds": elapsed, "cpu": cpu_seconds(), "signatures_s": t_sig, "pairs": pairs, "candidates": len(pairs),
           "rss_mb": rss,
           "bands": f"{b}x{r}"})  # fmt: skip


def in_child(target, *args) -> dict:  # noqa: ANN001
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, q))
    proc.start()
    result = q.get()
    proc.join()
    return result


def datasketch_command(inp: str, out: str, field: str, threshold: float) -> None:
    """What a user writes with datasketch: stream the rows, query, insert the new ones, write what was kept."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=256)
    with open(inp, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst, \
            open(out + ".rejects.jsonl", "w", encoding="utf-8") as rej:  # fmt: skip
        for i, line in enumerate(src):
            row = json.loads(line)
            m = MinHash(num_perm=256)
            m.update_batch(shingles(row[field].encode("utf-8", "surrogatepass")))
            dups = lsh.query(m)
            if dups:
                rej.write(json.dumps({"line": i + 1, "of": min(dups) + 1}) + "\n")
                continue
            lsh.insert(i, m)
            dst.write(line)


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (the command and all its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def commands(files: list[Path], texts: list[bytes], threshold: float, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="codealign-bench-") as tmp:
        inp = Path(tmp) / "corpus.jsonl"
        with inp.open("w", encoding="utf-8") as fh:
            for p, t in zip(files, texts, strict=True):
                fh.write(json.dumps({"path": str(p), "content": t.decode("utf-8", "replace")}) + "\n")
        mb = inp.stat().st_size / 1e6
        exe = str(Path(sys.executable).with_name("codealign"))
        runs = {}
        for w in sorted({1, workers}):
            out = Path(tmp) / f"codealign-{w}.jsonl"
            runs[f"codealign dedup (--workers {w})"] = (*timed([exe, "dedup", str(inp), "--field", "content",
                                                                "--threshold", str(threshold), "--workers", str(w),
                                                                "-o", str(out)]), out)  # fmt: skip
        out = Path(tmp) / "datasketch.jsonl"
        runs["datasketch script"] = (*timed([sys.executable, __file__, "--datasketch-command", str(inp), str(out),
                                             "--threshold", str(threshold)]), out)  # fmt: skip
        print(f"\ncommands on {inp.name}: {len(files):,} rows, {mb:.1f} MB of JSONL")
        header = f"{'command':<30}{'wall s':>8}{'CPU s':>8}{'MB/s':>7}{'rows kept':>11}"
        print(header)
        print("-" * len(header))
        for name, (wall, cpu, path) in runs.items():
            kept = sum(1 for _ in path.open("rb"))
            print(f"{name:<30}{wall:>8.1f}{cpu:>8.1f}{mb / wall:>7.1f}{kept:>11,}")
        ds = runs["datasketch script"]
        for name, (wall, cpu, _) in runs.items():
            if name != "datasketch script":
                print(f"{name} vs datasketch script: {ds[0] / wall:.1f}x faster (wall), {ds[1] / cpu:.1f}x less CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit-mb", type=float, default=160.0)
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--workers", type=int, default=2, help="codealign signature processes (also runs with 1)")
    ap.add_argument("--no-commands", action="store_true", help="only the index comparison")
    ap.add_argument("--datasketch-command", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.datasketch_command:
        datasketch_command(*args.datasketch_command, "content", args.threshold)
        return

    files = corpus(args.limit_mb)
    texts = read_all(files)  # also warms the page cache for both tools
    mb = sum(map(len, texts)) / 1e6
    print(f"corpus: {len(files):,} files, {mb:.1f} MB (stdlib + site-packages, threshold {args.threshold})")

    results = {"codealign (1 process)": in_child(run_codealign, files, args.threshold, 1)}
    if args.workers > 1:
        results[f"codealign ({args.workers} processes)"] = in_child(run_codealign, files, args.threshold, args.workers)
    results["datasketch"] = in_child(run_datasketch, files, args.threshold)

    candidates = set().union(*(r["pairs"] for r in results.values()))
    t0 = time.perf_counter()
    cache: dict[int, set[bytes]] = {}
    truth = set()
    for i, j in sorted(candidates):
        a = cache.setdefault(i, shingles(texts[i]))
        b = cache.setdefault(j, shingles(texts[j]))
        if a and b and len(a & b) / len(a | b) >= args.threshold:
            truth.add((i, j))
    print(f"ground truth: {len(candidates):,} distinct proposed pairs, {len(truth):,} with exact J >= {args.threshold} "
          f"({time.perf_counter() - t0:.1f} s)\n")  # fmt: skip

    header = (f"{'tool':<26}{'bands':>7}{'wall s':>8}{'files/s':>9}{'MB/s':>7}{'CPU s':>7}{'MB/CPU-s':>9}"
              f"{'peak MB':>9}{'pairs':>8}{'precision':>10}{'recall':>8}")
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        tp = len(r["pairs"] & truth)
        precision = tp / len(r["pairs"]) if r["pairs"] else 1.0
        recall = tp / len(truth) if truth else 1.0
        r.update(precision=precision, recall=recall)
        print(f"{name:<26}{r['bands']:>7}{r['seconds']:>8.1f}{len(files) / r['seconds']:>9.0f}{mb / r['seconds']:>7.1f}"
              f"{r['cpu']:>7.1f}{mb / r['cpu']:>9.1f}{r['rss_mb']:>9.0f}{len(r['pairs']):>8,}{precision:>10.3f}"
              f"{recall:>8.3f}")  # fmt: skip
    ds = results["datasketch"]
    print()
    for name, r in results.items():
        if name != "datasketch":
            print(f"{name} vs datasketch, end to end: {ds['seconds'] / r['seconds']:.1f}x faster (wall), "
                  f"{ds['cpu'] / r['cpu']:.1f}x less CPU")  # fmt: skip
    if not args.no_commands:
        commands(files, texts, args.threshold, args.workers)


if __name__ == "__main__":
    main()
