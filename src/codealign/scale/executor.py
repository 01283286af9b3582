"""Executors decide where batches of work run, nothing else: `local` (this machine: in process or a process pool, as
codealign always ran) and `ray` (tasks and actors on a Ray cluster). Both give results in submission order, so what
a job writes does not depend on where its batches ran.
"""

from __future__ import annotations

import hashlib
import pickle
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codealign.errors import CodealignError, MissingDependency
from codealign.scale.config import ExecutorConfig, RayOptions

Init = tuple[Callable[..., Any], tuple[Any, ...]] | None


class ClusterError(CodealignError):
    """The cluster could not be reached, or lost work more times than `ray.max_retries` allows."""


class Executor(ABC):
    kind = "local"

    def __init__(self) -> None:
        self.tasks_per_node: Counter[str] = Counter()
        self.replaced_actors = 0  # actors started again elsewhere because their node went away
        # Which actor takes the next piece of work. Kept here, not per stage, so that stages with little work still
        # reach every node in turn instead of always starting at the first.
        self.turn = 0

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], init: Init = None) -> Iterator[Any]:
        """`fn(item)` for every item, results in item order; `init(*args)` runs once per worker process first."""

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what the executor started."""

    def describe(self) -> dict[str, Any]:
        """What to record in a job's report: the kind and, on a cluster, how many tasks ran on each node."""
        out: dict[str, Any] = {"type": self.kind}
        if self.tasks_per_node:
            out["tasks_per_node"] = dict(sorted(self.tasks_per_node.items()))
        if self.kind != "local":
            out["replaced_actors"] = self.replaced_actors
        return out

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """This machine: in this process for `workers <= 1`, else a pool of spawned processes."""

    def __init__(self, workers: int = 1) -> None:
        super().__init__()
        self.workers = workers
        self._pool: Any = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], init: Init = None) -> Iterator[Any]:
        if self.workers <= 1:
            if init is not None:
                init[0](*init[1])
            for item in items:
                yield fn(item)
            return
        import multiprocessing as mp

        from codealign.interrupts import process_pool

        ctx = mp.get_context("spawn")  # fork is unsafe next to rich's refresh thread
        initializer, initargs = init if init is not None else (None, ())
        # Workers leave Ctrl-C to this process: no traceback from each of them when a terminal interrupts the group.
        with process_pool(self.workers, ctx, initializer, initargs) as pool:
            window: deque[Any] = deque()
            for item in items:
                window.append(pool.submit(fn, item))
                if len(window) >= 2 * self.workers:  # bounded: never more than a few batches in flight
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()


class RayExecutor(Executor):
    """A Ray cluster: each batch is a task (retried when its worker or node dies), results in order."""

    kind = "ray"

    def __init__(self, options: RayOptions | None = None) -> None:
        super().__init__()
        self.options = options or RayOptions()
        self.ray = require_ray()
        self._started = connect(self.ray, self.options)
        self._remote: dict[Any, Any] = {}

    # -- tasks ----------------------------------------------------------------------------------------------------

    def remote(self, fn: Callable[..., Any], **options: Any) -> Any:
        """`fn` as a Ray remote function with the configured task options (spread over the nodes)."""
        key = (fn, tuple(sorted(options.items(), key=lambda kv: kv[0])))
        if key not in self._remote:
            opts = {**self.options.task_options(), "scheduling_strategy": "SPREAD", **options}
            self._remote[key] = self.ray.remote(**opts)(fn)
        return self._remote[key]

    def get(self, refs: Any) -> Any:
        """ray.get that turns a task's own CodealignError back into itself and lost work into a ClusterError."""
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, CodealignError):
                raise exc.cause from None
            raise
        except (self.ray.exceptions.WorkerCrashedError, self.ray.exceptions.ObjectLostError,
                self.ray.exceptions.NodeDiedError) as exc:  # fmt: skip
            raise ClusterError(f"the cluster lost a task after {self.options.max_retries} retries: "
                               f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None  # fmt: skip

    def window(self) -> int:
        cpus = self.ray.cluster_resources().get("CPU", 1.0)
        per_task = self.options.num_cpus or 1.0
        return max(2, int(2 * cpus / per_task))

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], init: Init = None) -> Iterator[Any]:
        task = self.remote(call_in_worker)
        pending: deque[Any] = deque()
        size = self.window()
        for item in items:
            pending.append(task.remote(init, fn, item))
            if len(pending) >= size:
                yield self._take(pending.popleft())
        while pending:
            yield self._take(pending.popleft())

    def _take(self, ref: Any) -> Any:
        node, result = self.get(ref)
        self.tasks_per_node[node] += 1
        return result

    def count(self, nodes: Iterable[str]) -> None:
        """Record tasks run outside `map` (their results carry the node they ran on)."""
        self.tasks_per_node.update(nodes)

    # -- actors ---------------------------------------------------------------------------------------------------

    def nodes(self) -> list[dict[str, Any]]:
        """Alive nodes that have every custom resource the tasks ask for, in a stable order."""
        wanted = self.options.resources
        alive = [n for n in self.ray.nodes() if n.get("Alive")]
        fit = [n for n in alive if all(n.get("Resources", {}).get(k, 0) >= v for k, v in wanted.items())]
        return sorted(fit, key=lambda n: n["NodeID"])

    def actors(self, cls: type, per_node: int = 1, args: tuple[Any, ...] = (), **options: Any) -> NodeActors:
        """`per_node` actors of `cls` on every fitting node (see NodeActors)."""
        return NodeActors(self, cls, per_node, args, options)

    def close(self) -> None:
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()


class NodeActors:
    """Actors of one class pinned to nodes, `per_node` on each fitting node. An actor whose process dies is
    restarted on its node by Ray; one whose node is gone is replaced, by `replace`, on the alive node that holds
    the fewest of them."""

    def __init__(self, ex: RayExecutor, cls: type, per_node: int, args: tuple[Any, ...], options: dict[str, Any]):
        self.ex = ex
        self.args = args
        self._cls = ex.ray.remote(cls)
        self.options: dict[str, Any] = {"max_restarts": 2, "max_task_retries": 0, "num_cpus": 0}
        if ex.options.resources:
            self.options["resources"] = dict(ex.options.resources)
        self.options.update(options)
        self.handles: list[Any] = []
        self.node_of: dict[int, str] = {}
        self.lost: set[str] = set()
        for node in ex.nodes():
            for _ in range(per_node):
                self.handles.append(self._start(node["NodeID"]))
        if not self.handles:
            raise ClusterError(f"no alive Ray node has the resources {ex.options.resources}")

    def _start(self, node: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # Hard affinity: Ray's soft affinity may place several of them on one node.
        strategy = NodeAffinitySchedulingStrategy(node, soft=False)
        handle = self._cls.options(scheduling_strategy=strategy, **self.options).remote(*self.args)
        self.node_of[id(handle)] = node
        return handle

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.handles))

    def __len__(self) -> int:
        return len(self.handles)

    def replace(self, handle: Any) -> Any:
        """A new actor in place of `handle` (whose node died), on an alive node; the old one is killed."""
        import contextlib

        with contextlib.suppress(Exception):
            self.ex.ray.kill(handle)
        # Its node is suspect even while the cluster still lists it as alive (until the health checks notice).
        self.lost.add(self.node_of.get(id(handle), ""))
        alive = [n["NodeID"] for n in self.ex.nodes()]
        nodes = [n for n in alive if n not in self.lost] or alive
        if not nodes:
            raise ClusterError("no alive Ray node is left to run on")
        held = Counter(self.node_of.get(id(h)) for h in self.handles if h is not handle)
        fresh = self._start(min(nodes, key=lambda n: (held[n], n)))
        self.handles[self.handles.index(handle)] = fresh
        self.ex.replaced_actors += 1
        self.node_of.pop(id(handle), None)
        return fresh

    def close(self) -> None:
        import contextlib

        for handle in self.handles:
            with contextlib.suppress(Exception):
                self.ex.ray.kill(handle)
        self.handles = []


def lost_work(ray: Any, exc: BaseException) -> bool:
    """True for errors that mean the cluster lost the work (a dead actor, worker or node), not that it failed."""
    return isinstance(exc, ray.exceptions.RayError) and not isinstance(exc, ray.exceptions.RayTaskError)


def require_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency("ray", "ray", purpose="executor: ray") from exc
    return ray


def connect(ray: Any, options: RayOptions) -> bool:
    """Join (or start) Ray; True when this call started it, so closing the executor stops it again."""
    import logging
    import os

    if ray.is_initialized():
        return False
    address = options.address or os.environ.get("RAY_ADDRESS")
    kwargs: dict[str, Any] = {"namespace": "codealign", "log_to_driver": False, "logging_level": logging.WARNING,
                              "configure_logging": False}  # fmt: skip
    if address is None:
        kwargs.update({"include_dashboard": False, **options.init})
    elif options.init:
        raise CodealignError("ray.init options apply only when Ray is started here; the cluster at "
                             f"{address} was configured by `ray start`")  # fmt: skip
    if address is not None:
        _probe(address)
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return address is None


def _probe(address: str) -> None:
    """Fail in seconds, not minutes of Ray's own retries, when a HOST:PORT address has nothing listening."""
    import socket

    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start it with "
                           "`ray start --head` there, or give the address `ray start` printed") from None


def make_executor(config: ExecutorConfig | None = None, workers: int = 1) -> Executor:
    """The executor a job's `executor:` setting names (`workers` sizes the local process pool)."""
    if config is None or config.type == "local":
        return LocalExecutor(workers)
    return RayExecutor(config.ray)


def open_backend(config: Any, cache: Any, executor: Any = None) -> Any:
    """The backend of `config`: in this process, or with a RayExecutor held by actors on the cluster."""
    if executor is None or executor.kind == "local":
        from codealign.llm import load_backend

        return load_backend(config, cache)
    from codealign.llm import load_backend
    from codealign.scale.llm import RayBackend

    load_backend(config, None).close()  # the same checks (type, extra, options) before any actor starts
    return RayBackend(config, cache, executor)


_CURRENT_INIT = {"digest": ""}


def call_in_worker(init: Init, fn: Callable[[Any], Any], item: Any) -> tuple[str, Any]:
    """Runs in a Ray worker: `init` once per process (per distinct init), then `fn(item)`; returns the node too."""
    import ray

    if init is not None:
        key = hashlib.blake2b(pickle.dumps((init[0].__module__, init[0].__qualname__, init[1])), digest_size=16)
        digest = key.hexdigest()
        if digest != _CURRENT_INIT["digest"]:  # a worker process may serve several jobs in turn
            init[0](*init[1])
            _CURRENT_INIT["digest"] = digest
    return ray.get_runtime_context().get_node_id(), fn(item)
