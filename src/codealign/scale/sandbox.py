"""The sandbox on a Ray cluster: one actor per node owns a warm sandbox pool, and programs stream to the actors.

`ClusterSandbox` has the `Sandbox` interface (`run`, `run_all`, `key`, `isolation`, a context manager), so the code
that executes programs does not change with where they run. The cache stays with the driver: it looks each program
up before sending it and stores each outcome as it comes back, so no node needs the cache and a rerun, wherever it
is started, executes nothing twice. An actor that dies (its node went away) is restarted, on another node when its
own is gone, and its batch is run again there; outcomes depend only on the program, so they are the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from codealign.cache import NullCache
from codealign.sandbox.engine import CACHE_NS, OutcomeStream, Sandbox, usable_outcomes
from codealign.sandbox.types import Outcome, Program, Status
from codealign.scale.executor import lost_work

_BATCH = 16  # programs per call to an actor
_DEPTH = 2  # calls in flight per actor, so an actor never waits for the driver
_READ_AHEAD = 256  # programs looked up in the cache together


class SandboxActor:
    """Lives on one node: a started `Sandbox` (no cache) that runs batches of programs."""

    def __init__(self, workers: int | None, isolation_mode: str, allow_no_isolation: bool, disk_mb: int) -> None:
        import ray

        self.node = ray.get_runtime_context().get_node_id()
        self.sandbox = Sandbox(workers=workers, isolation_mode=isolation_mode, allow_no_isolation=allow_no_isolation,
                               disk_mb=disk_mb)  # fmt: skip
        self.sandbox.start()

    def ready(self) -> tuple[str, str, int]:
        return self.node, self.sandbox.isolation, self.sandbox.workers

    def run(self, programs: list[Program]) -> tuple[str, list[dict[str, Any]]]:
        outcomes = self.sandbox.run_all(programs)
        return self.node, [o.model_dump(mode="json", exclude={"cached"}) for o in outcomes]


class ClusterSandbox(OutcomeStream):
    """`Sandbox` whose programs run in actors on every node of a Ray cluster (see the module docstring)."""

    def __init__(
        self,
        executor: Any,
        workers: int | None = None,
        cache: Any = None,
        *,
        isolation_mode: str = "auto",
        allow_no_isolation: bool = False,
        disk_mb: int = 512,
        retry_timeouts: bool = False,
    ) -> None:
        self.ex = executor
        self.cache = cache if cache is not None else NullCache()
        self.retry_timeouts = retry_timeouts
        # Never started: it names languages, resolves the isolation and makes cache keys, as the actors' pools do.
        self._keys = Sandbox(workers=1, isolation_mode=isolation_mode, allow_no_isolation=allow_no_isolation)
        self.isolation = self._keys.isolation
        self.workers_per_node = workers or executor.options.sandbox_workers
        self.disk_mb = disk_mb
        self.allow_no_isolation = allow_no_isolation
        self.actors: Any = []
        self.stats = {"executed": 0, "cached": 0, "restarts": 0, "timeouts_retried": 0}

    def __enter__(self) -> ClusterSandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def workers(self) -> int:
        return max(1, len(self.actors)) * (self.workers_per_node or 1)

    def start(self) -> None:
        if self.actors:
            return
        # The driver's resolved mode, not "auto": every node must isolate as the cache keys say.
        self.actors = self.ex.actors(SandboxActor, args=(self.workers_per_node, self.isolation,
                                                         self.allow_no_isolation, self.disk_mb))  # fmt: skip
        try:
            self.ex.get([a.ready.remote() for a in self.actors])
        except self.ex.ray.exceptions.RayActorError as exc:
            from codealign.scale.executor import ClusterError

            self.close()
            lines = [line for line in str(exc).splitlines() if "Error" in line]
            raise ClusterError(f"a sandbox actor could not start: {lines[-1] if lines else exc}") from None

    def close(self) -> None:
        if self.actors:
            self.actors.close()
        self.actors = []

    def key(self, program: Program) -> str:
        return self._keys.key(program)

    def unsupported(self, language: str) -> str | None:
        """Why the pools cannot run `language`, as the driver's own sandbox sees it (nodes are set up alike)."""
        return self._keys.unsupported(language)

    def _run_indexed(self, programs: Iterator[Program]) -> Iterator[tuple[int, Outcome]]:
        self.start()
        ray = self.ex.ray
        caching = bool(getattr(self.cache, "enabled", True))
        waiting: deque[tuple[int, Program, str]] = deque()
        in_flight: dict[Any, tuple[Any, list[tuple[int, Program, str]]]] = {}
        load = {id(a): 0 for a in self.actors}
        failures: dict[int, int] = {}  # by the first program of a batch: times its actor died under it
        seq = 0
        exhausted = False
        while True:
            if not exhausted and len(waiting) < _READ_AHEAD:
                batch = []
                for program in programs:
                    if not isinstance(program, Program):
                        program = Program.model_validate(program)
                    if program.language not in self._keys.runners:
                        program = self._keys._canonical(program)
                    batch.append((seq, program, self.key(program) if caching else ""))
                    seq += 1
                    if len(batch) >= _READ_AHEAD:
                        break
                else:
                    exhausted = True
                found = self.cache.get_many(CACHE_NS, [k for _, _, k in batch]) if caching and batch else {}
                found = usable_outcomes(found, self.retry_timeouts, self.stats)
                for s, program, k in batch:
                    if k in found:
                        self.stats["cached"] += 1
                        yield s, Outcome.model_validate({**found[k], "id": program.id, "cached": True})
                    elif program.language in self._keys.missing:  # as the local engine answers these
                        yield s, Outcome(id=program.id, status=Status.SANDBOX_ERROR,
                                         error=self._keys.missing[program.language])  # fmt: skip
                    elif program.language not in self._keys.runners:
                        from codealign.errors import ConfigError

                        raise ConfigError(f"program {program.id!r}: {self.unsupported(program.language)}")
                    else:
                        waiting.append((s, program, k))
            # Hand batches to the least busy actors, taking turns, so a few programs still spread over the nodes.
            actors = list(self.actors)
            turn = self.ex.turn % len(actors)
            for actor in sorted(actors[turn:] + actors[:turn], key=lambda a: load.get(id(a), 0)):
                load.setdefault(id(actor), 0)
                while waiting and load[id(actor)] < _DEPTH:
                    size = max(1, min(_BATCH, -(-len(waiting) // len(actors))))
                    jobs = [waiting.popleft() for _ in range(size)]
                    self.ex.turn += 1
                    ref = actor.run.remote([p for _, p, _ in jobs])
                    in_flight[ref] = (actor, jobs)
                    load[id(actor)] += 1
            if not in_flight:
                if exhausted and not waiting:
                    return
                continue
            done, _ = ray.wait(list(in_flight), num_returns=1)
            actor, jobs = in_flight.pop(done[0])
            load[id(actor)] -= 1
            try:
                node, rows = ray.get(done[0])
            except Exception as exc:
                if not lost_work(ray, exc):
                    raise
                # Its node went away (or the actor with it): run the batch again on a fresh actor elsewhere.
                failures[jobs[0][0]] = failures.get(jobs[0][0], 0) + 1
                if failures[jobs[0][0]] > self.ex.options.max_retries:
                    from codealign.scale.executor import ClusterError

                    raise ClusterError(f"sandbox actors died {failures[jobs[0][0]]} times under one batch: "
                                       f"{str(exc).splitlines()[0]}") from None  # fmt: skip
                waiting.extendleft(reversed(jobs))
                if actor in self.actors.handles:
                    fresh = self.actors.replace(actor)
                    load[id(fresh)] = load.pop(id(actor))
                    self.stats["restarts"] += 1
                continue
            self.ex.count([node])
            outcomes = [Outcome.model_validate({**row, "id": program.id}) for (_, program, _), row in zip(jobs, rows, strict=True)]
            self.stats["executed"] += len(outcomes)
            if caching:  # stored before the caller sees them, as the local engine does
                store = [(k, o.model_dump(mode="json", exclude={"id", "cached"}))
                         for (_, _, k), o in zip(jobs, outcomes, strict=True) if o.status is not Status.SANDBOX_ERROR]  # fmt: skip
                if store:
                    self.cache.put_many(CACHE_NS, store)
            for (s, _, _), outcome in zip(jobs, outcomes, strict=True):
                yield s, outcome
