"""A model backend on a Ray cluster: actors that each hold the configured backend, fed by the driver.

`RayBackend` is a `Backend`, so the cache, per-sample seeds and usage accounting of the base class stay on the
driver: it looks every sample up before asking, sends only the missing ones to the actors, and stores each answer
as it comes back. Workers never see the cache. Each actor holds one backend: an in-process model on the GPUs it
reserves (`ray.num_gpus`, one engine per actor for vLLM), or a client of a model server (`type: openai`). Answers
stream back job by job; a job whose actor died (its node went away) is asked again of a restarted actor, and with
seeded sampling it gets the same text.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from codealign.llm.backend import Backend, BackendConfig, Job, JobResult
from codealign.scale.executor import lost_work


class BackendActor:
    """Lives on one node (or GPU): the backend, loaded once, answering batches of jobs as a stream."""

    def __init__(self, config: dict[str, Any]) -> None:
        import ray

        from codealign.llm import load_backend

        self.node = ray.get_runtime_context().get_node_id()
        self.backend = load_backend(BackendConfig.model_validate(config), None)
        self.backend.load()

    def ready(self) -> str:
        return self.node

    def generate(self, jobs: list[Job]) -> Iterator[tuple[str, JobResult]]:
        for result in self.backend._generate(jobs):
            yield self.node, result


class RayBackend(Backend):
    """The configured backend, run by actors on the cluster of `executor` (a RayExecutor)."""

    name = "ray"

    def __init__(self, config: BackendConfig, cache: Any, executor: Any) -> None:
        super().__init__(config, cache)
        self.ex = executor
        self.actors: Any = []
        self.batch = max(config.max_in_flight if config.type == "openai" else 4 * config.batch_size, 1)

    def load(self) -> None:
        opts = self.ex.options
        data = self.config.model_dump(mode="json")
        if opts.num_gpus > 0:
            # GPU actors go where Ray finds the GPUs (each one an engine over `num_gpus` of them).
            count = opts.backend_actors or max(1, int(self.ex.ray.cluster_resources().get("GPU", 0) // opts.num_gpus))
            self.actors = GpuActors(self.ex, count, opts.num_gpus, data)
        else:
            per_node = 1
            if opts.backend_actors:
                per_node = max(1, -(-opts.backend_actors // max(1, len(self.ex.nodes()))))
            self.actors = self.ex.actors(BackendActor, per_node=per_node, args=(data,))
        try:
            self.ex.get([a.ready.remote() for a in self.actors])
        except self.ex.ray.exceptions.RayActorError as exc:
            from codealign.errors import BackendError

            self.close()
            lines = [line for line in str(exc).splitlines() if "Error" in line]
            raise BackendError(f"a backend actor could not start: {lines[-1] if lines else exc}") from None

    def close(self) -> None:
        if self.actors:
            self.actors.close()
        self.actors = []

    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        """Jobs are dealt to the actors in turn (going on where the last call, of any stage, stopped) and sent in
        batches by one thread per actor; an actor that runs out takes from the busiest one. Results come back job by
        job."""
        actors = list(self.actors)
        queues: list[deque[Job]] = [deque() for _ in actors]
        first = self.ex.turn % len(actors)
        self.ex.turn += len(jobs)
        for k, job in enumerate(jobs):
            queues[(first + k) % len(actors)].append(job)
        lock = threading.Lock()
        results: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        retries = self.ex.options.max_retries

        def take(i: int, steal: bool = True) -> list[Job]:
            with lock:
                own = queues[i]
                if not own and steal:  # help the actor with the most left
                    other = max(queues, key=len)
                    for _ in range((len(other) + 1) // 2):
                        own.append(other.pop())
                return [own.popleft() for _ in range(min(self.batch, len(own)))]

        def feed(i: int, actor: Any, batch: list[Job]) -> None:
            failures = 0
            while not stop.is_set():
                sending, batch = batch or take(i), []
                if not sending:
                    return
                left = {job.pos: job for job in sending}
                try:
                    for ref in actor.generate.remote(sending):
                        node, res = self.ex.ray.get(ref)
                        res.job = left.pop(res.job.pos)  # the result carries a copy of its job: hand back ours
                        self.ex.count([node])
                        results.put(res)
                    failures = 0
                except Exception as exc:
                    if not lost_work(self.ex.ray, exc):  # a bug in a backend: stop the run with it
                        results.put(exc)
                        return
                    with lock:  # what was not answered goes back, for the actor that replaces this one
                        queues[i].extendleft(reversed(list(left.values())))
                    failures += 1
                    if failures > retries:
                        results.put(exc)
                        return
                    try:
                        actor = self.actors.replace(actor)
                    except Exception as err:  # no node left
                        results.put(err)
                        return

        # Each actor's first batch is its own, taken before any thread starts: a thread that started first and ran
        # out would otherwise take the jobs of actors whose threads had not started yet, and a small call would
        # never reach the last actors.
        first_batches = [take(i, steal=False) for i in range(len(actors))]
        threads = [threading.Thread(target=feed, args=(i, a, first_batches[i]), daemon=True)
                   for i, a in enumerate(actors)]  # fmt: skip
        for t in threads:
            t.start()
        try:
            for _ in range(len(jobs)):
                item = results.get()
                if isinstance(item, BaseException):
                    if isinstance(item, self.ex.ray.exceptions.RayError):
                        from codealign.scale.executor import ClusterError

                        raise ClusterError(f"backend actors kept failing ({retries} retries): "
                                           f"{str(item).splitlines()[0]}") from None  # fmt: skip
                    raise item
                yield item
        finally:
            stop.set()


class GpuActors:
    """`count` backend actors with `num_gpus` each, placed by Ray's GPU scheduling; a dead one is replaced."""

    def __init__(self, ex: Any, count: int, num_gpus: float, config: dict[str, Any]) -> None:
        self.ex = ex
        opts: dict[str, Any] = {"num_gpus": num_gpus, "max_restarts": 2, "max_task_retries": 0}
        if ex.options.resources:
            opts["resources"] = dict(ex.options.resources)
        self._cls = ex.ray.remote(BackendActor).options(**opts)
        self._config = config
        self.handles = [self._cls.remote(config) for _ in range(count)]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.handles))

    def replace(self, handle: Any) -> Any:
        import contextlib

        with contextlib.suppress(Exception):
            self.ex.ray.kill(handle)
        fresh = self._cls.remote(self._config)
        self.handles[self.handles.index(handle)] = fresh
        self.ex.replaced_actors += 1
        return fresh

    def close(self) -> None:
        import contextlib

        for handle in self.handles:
            with contextlib.suppress(Exception):
                self.ex.ray.kill(handle)
        self.handles = []
