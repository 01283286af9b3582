"""What Ray costs: the same curate, dedup and run jobs with `executor: local` and `executor: ray`, on this machine.

A Ray cluster of two nodes (a head and a second raylet, each with its own object store and `--cpus` CPUs) is
started on this machine; the local executor gets the same CPUs as worker processes. Each job runs first locally,
then on the cluster, into separate outputs that must be byte-identical. Ray cannot be faster here (it has the same
cores and adds scheduling, serialisation and object transfers); what the figures give is its overhead per record,
per task and per shard, the numbers a plan for more machines starts from.

    .venv/bin/python benchmarks/ray.py                       # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/ray.py --files 200 --seeds 32 --dedup-mb 20
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This file is named ray.py: take its folder off the path so `import ray` finds the library, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def sibling(name: str):  # noqa: ANN201
    """Another script of this folder, as a module (the dedup corpus, the pipeline's seed maker)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def timed(fn, *args, **kwargs) -> tuple[float, float, object]:
    t0, c0 = time.perf_counter(), cpu()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, cpu() - c0, out


def same(a: Path, b: Path, names: list[str]) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def curate_job(work: Path, files: int, cpus: int, address: str) -> dict:
    from codealign.curate.pipeline import CurateConfig, run_curate
    from codealign.scale.config import RayOptions

    src = work / "src"
    src.mkdir()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for p in sorted(stdlib.glob("*.py"))[:files]:
        shutil.copy(p, src / p.name)
    base = {"licenses": ["permissive", "unknown"], "decontaminate": []}
    local = CurateConfig(**base, workers=cpus)
    ray = CurateConfig(**base, executor="ray", ray=RayOptions(address=address))
    wl, cl, fl = timed(run_curate, str(src), work / "local" / "seeds.jsonl", local, show=False)
    wr, cr, fr = timed(run_curate, str(src), work / "ray" / "seeds.jsonl", ray, show=False)
    tasks = sum(fr["executor"]["tasks_per_node"].values())
    return {"job": f"curate {files} files", "records": fl["functions"], "tasks": tasks, "local": wl, "ray": wr,
            "driver_cpu_local": cl, "driver_cpu_ray": cr,
            "same": same(work / "local", work / "ray", ["seeds.jsonl", "seeds.rejects.jsonl"])}  # fmt: skip


def dedup_job(work: Path, limit_mb: float, cpus: int, address: str) -> dict:
    corpus = sibling("dedup").corpus

    from codealign.curate.tools import run_dedup
    from codealign.scale.config import ExecutorConfig, RayOptions

    data = work / "rows.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for p in corpus(limit_mb):
            fh.write(json.dumps({"path": str(p), "content": p.read_text(encoding="utf-8", errors="replace")}) + "\n")
    rows = sum(1 for _ in data.open("rb"))
    ray = ExecutorConfig(type="ray", ray=RayOptions(address=address, split_mb=max(1.0, limit_mb / 8)))
    wl, cl, _ = timed(run_dedup, data, work / "local" / "d.jsonl", "content", workers=cpus, show=False)
    wr, cr, fr = timed(run_dedup, data, work / "ray" / "d.jsonl", "content", executor=ray, show=False)
    tasks = sum(fr["executor"]["tasks_per_node"].values())
    return {"job": f"dedup {limit_mb:g} MB", "records": rows, "tasks": tasks, "local": wl, "ray": wr,
            "driver_cpu_local": cl, "driver_cpu_ray": cr,
            "same": same(work / "local", work / "ray", ["d.jsonl", "d.rejects.jsonl"])}  # fmt: skip


def run_job(work: Path, seeds: int, shard: int, cpus: int, address: str) -> dict:
    from codealign.cache import open_cache
    from codealign.config import load_config
    from codealign.pipeline import RunConfig, run_pipeline
    from codealign.testing.server import ScriptedServer

    sibling("pipeline").make_seeds(work / "seeds.jsonl", seeds)
    out = {}
    with ScriptedServer() as server:
        for name, extra in (("local", []), ("ray", ["executor=ray", f"ray.address={address}"])):
            sets = [f"run_dir={work / name}", f"seeds.path={work / 'seeds.jsonl'}", f"backend.base_url={server.url}",
                    f"shard_size={shard}", "execution.timeout=1", f"execution.workers={cpus}", *extra]  # fmt: skip
            config = load_config(RunConfig, REPO / "examples" / "demo.yaml", sets)
            with open_cache(work / f"cache-{name}") as cache:
                out[name] = timed(run_pipeline, config, cache, progress=False)
    markers = [json.loads(p.read_text()) for p in (work / "local").glob("*/*.done")]
    usage = json.loads((work / "ray" / "usage.json").read_text())["this_invocation"]["executor"]
    names = ["final/sft.jsonl", "final/dpo.jsonl", "funnel.json"]
    return {"job": f"run {seeds} seeds", "records": sum(m.get("out", 0) for m in markers), "shards": len(markers),
            "tasks": sum(usage["tasks_per_node"].values()), "local": out["local"][0], "ray": out["ray"][0],
            "driver_cpu_local": out["local"][1], "driver_cpu_ray": out["ray"][1],
            "same": same(work / "local", work / "ray", names)}  # fmt: skip


def _noop(x: int) -> int:
    return x


def _size(a) -> int:  # noqa: ANN001
    return int(a.nbytes)


def primitives(ray) -> dict:  # noqa: ANN001
    """What one task and one moved megabyte cost on this cluster: the units the scale plan is written in."""
    import numpy as np

    noop = ray.remote(num_cpus=0.01)(_noop)
    ray.get([noop.remote(i) for i in range(50)])  # workers warm
    n = 1000
    t0 = time.perf_counter()
    ray.get([noop.remote(i) for i in range(n)])
    per_task = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(100):
        ray.get(noop.remote(i))
    round_trip = (time.perf_counter() - t0) / 100
    # 64 MB put by the driver, read by a task on the other node (scheduled by its resource)
    other = [nd["NodeID"] for nd in ray.nodes() if nd["Alive"] and "node:__internal_head__" not in nd["Resources"]]
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    size = ray.remote(num_cpus=0.01, scheduling_strategy=NodeAffinitySchedulingStrategy(other[0], soft=False))(_size)
    data = ray.put(np.ones(64 << 20, dtype=np.uint8))
    ray.get(size.remote(ray.put(np.ones(1, dtype=np.uint8))))
    t0 = time.perf_counter()
    ray.get(size.remote(data))
    mb_s = 64 * 1.048576 / (time.perf_counter() - t0)
    return {"task_ms": per_task * 1000, "round_trip_ms": round_trip * 1000, "transfer_mb_s": mb_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpus", type=int, default=1, help="CPUs of each of the two Ray nodes")
    ap.add_argument("--files", type=int, default=400, help="standard-library files for the curate job")
    ap.add_argument("--dedup-mb", type=float, default=40.0, help="MB of files for the dedup job")
    ap.add_argument("--seeds", type=int, default=64, help="seeds for the run job")
    ap.add_argument("--shard-size", type=int, default=16)
    args = ap.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    t0 = time.perf_counter()
    node = {"num_cpus": args.cpus, "object_store_memory": 256 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    results = []
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        print(f"two-node Ray cluster on this machine ({args.cpus} CPU each) up in {time.perf_counter() - t0:.1f} s; "
              f"local executor: {2 * args.cpus} worker processes")  # fmt: skip
        prim = primitives(ray)
        print(f"a task: {prim['task_ms']:.2f} ms each when 1,000 are in flight, {prim['round_trip_ms']:.2f} ms one at a "
              f"time; 64 MB from the head's object store to a task on the other node: {prim['transfer_mb_s']:.0f} MB/s")
        with tempfile.TemporaryDirectory(prefix="codealign-ray-bench-") as tmp:
            for name, job in (("curate", lambda w: curate_job(w, args.files, 2 * args.cpus, cluster.address)),
                              ("dedup", lambda w: dedup_job(w, args.dedup_mb, 2 * args.cpus, cluster.address)),
                              ("run", lambda w: run_job(w, args.seeds, args.shard_size, 2 * args.cpus,
                                                        cluster.address))):  # fmt: skip
                work = Path(tmp) / name
                work.mkdir()
                results.append(job(work))
                print(f"  {name} done", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()

    header = (f"{'job':<22}{'records':>9}{'tasks':>7}{'local s':>9}{'ray s':>8}{'ray/local':>10}"
              f"{'ms/record':>10}{'ms/task':>9}{'same files':>11}")  # fmt: skip
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        extra = r["ray"] - r["local"]
        print(f"{r['job']:<22}{r['records']:>9,}{r['tasks']:>7}{r['local']:>9.1f}{r['ray']:>8.1f}"
              f"{r['ray'] / r['local']:>10.2f}{1000 * extra / max(1, r['records']):>10.3f}"
              f"{1000 * extra / max(1, r['tasks']):>9.1f}{str(r['same']):>11}")  # fmt: skip
    for r in results:
        if "shards" in r:
            print(f"{r['job']}: {r['shards']} shards, {(r['ray'] - r['local']) / r['shards'] * 1000:.0f} ms more per "
                  "shard on Ray")  # fmt: skip
        print(f"{r['job']}: driver CPU {r['driver_cpu_local']:.1f} s local, {r['driver_cpu_ray']:.1f} s with Ray")


if __name__ == "__main__":
    main()
