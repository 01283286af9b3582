"""Where work runs. An executor decides where shards and batches run, nothing else: the same code, the same shards
and completion markers, the same final files on one machine (`executor: local`) or on a Ray cluster
(`executor: ray`, the `ray` extra, imported only when chosen).

    executor.py   LocalExecutor (this machine) and RayExecutor (tasks spread over the nodes, actors per node)
    dedup.py      MinHash LSH on a cluster: JSONL read in byte ranges, LSH buckets grouped by tasks, pairs checked
    sandbox.py    ClusterSandbox: one actor per node owning a warm sandbox pool; the cache stays with the driver
    llm.py        RayBackend: actors holding a model backend; the cache stays with the driver
"""

from codealign.scale.config import ExecutorConfig, ExecutorKind, RayOptions

__all__ = ["ExecutorConfig", "ExecutorKind", "RayOptions"]
