"""The execution engine: a pool of warm, isolated workers; programs stream in, typed outcomes stream out.

Each worker is one jail (see `isolation`) holding a pre-initialised interpreter that forks a fresh child per program,
so isolation and interpreter start-up are paid once per pool. Outcomes are cached by everything that determines
them, so a rerun executes nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import struct
import subprocess
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from codealign.cache import NullCache, cache_key
from codealign.errors import ConfigError, SandboxError
from codealign.sandbox import isolation
from codealign.sandbox.types import Outcome, Program, Status

CACHE_NS = "exec"
ENGINE_VERSION = 3  # bump when a change would turn a cached outcome into a different one (3: checks)
_HEADER = struct.Struct(">I")
_READ_AHEAD = 256  # programs looked up in the cache together
_FLUSH_EVERY = 128  # outcomes written to the cache together
_START_TIMEOUT = 60.0
_DEPTH = 1  # programs handed to a worker at once: its next child is forked while a result travels back


_BUILD_STORE_BYTES = 256 << 20  # compiled programs kept in memory per pool, by source hash


class _Job(NamedTuple):
    seq: int
    program: Program
    key: str
    attempt: int = 0
    build_key: str = ""  # compiled languages: the hash of everything that decides the build


def _languages() -> Any:
    from codealign.registry import LANGUAGES

    return LANGUAGES


class _Worker:
    """One jailed server process and the program it is running, if any."""

    def __init__(self, argv: list[str], config: dict) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            [*argv, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        self.rfd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self.wfd = self.proc.stdin.fileno()  # type: ignore[union-attr]
        self.jobs: deque[_Job] = deque()  # sent, oldest (running) first
        self.deadline = 0.0  # by when the running job must be answered

    def ready(self) -> dict:
        hello = self.recv(timeout=_START_TIMEOUT)
        if hello is None or not hello.get("ready"):
            err = b""
            self.kill()
            with contextlib.suppress(OSError, ValueError):
                err = self.proc.stderr.read() or b""  # type: ignore[union-attr]
            detail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise SandboxError(f"a sandbox worker failed to start: {' | '.join(detail) or 'no message'}")
        # After start-up the server says nothing on stderr; stop holding the pipe.
        self.proc.stderr.close()  # type: ignore[union-attr]
        return hello

    def send(self, obj: dict) -> None:
        body = json.dumps(obj).encode()
        data = memoryview(_HEADER.pack(len(body)) + body)
        while data:
            data = data[os.write(self.wfd, data) :]

    def _read_exact(self, n: int) -> bytes | None:
        chunks = []
        while n:
            chunk = os.read(self.rfd, n)
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv(self, timeout: float | None = None) -> dict | None:
        if timeout is not None and not _wait_readable([self.rfd], timeout):
            return None
        try:
            head = self._read_exact(_HEADER.size)
            body = None if head is None else self._read_exact(_HEADER.unpack(head)[0])
        except OSError:
            return None
        return None if body is None else json.loads(body)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.kill()


class OutcomeStream:
    """`run` and `run_all` for a sandbox (local or on a cluster) that yields (input position, outcome) pairs."""

    def _run_indexed(self, programs: Iterator[Program]) -> Iterator[tuple[int, Outcome]]:
        raise NotImplementedError

    def run_all(self, programs: Iterable[Program]) -> list[Outcome]:
        """Outcomes in the order of `programs`."""
        indexed = list(programs)
        out: list[Outcome | None] = [None] * len(indexed)
        for seq, outcome in self._run_indexed(iter(indexed)):
            out[seq] = outcome
        return out  # type: ignore[return-value]

    def run(self, programs: Iterable[Program]) -> Iterator[Outcome]:
        """Outcomes as they finish, in any order (`outcome.id == program.id`); memory stays flat."""
        for _, outcome in self._run_indexed(iter(programs)):
            yield outcome


class Sandbox(OutcomeStream):
    """A pool of isolated workers. Use as a context manager; `run` streams, `run_all` keeps input order.

    `isolation`: "auto" (bubblewrap, else bare namespaces with a loud warning), "bwrap", "unshare" or "none"
    ("none" needs `allow_no_isolation=True`). `disk_mb` caps each worker's private /tmp and /dev/shm.
    `packages=False` hides the interpreter's site-packages from programs. One run at a time per Sandbox: share a
    pool between threads by taking turns, or give each thread its own.
    """

    def __init__(
        self,
        workers: int | None = None,
        cache: Any = None,
        *,
        isolation_mode: str = "auto",
        allow_no_isolation: bool = False,
        languages: Iterable[str] | None = None,
        packages: bool = True,
        disk_mb: int = 512,
        retry_timeouts: bool = False,
    ) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.cache = cache if cache is not None else NullCache()
        self.retry_timeouts = retry_timeouts  # a cached timeout runs again (a loaded machine may have caused it)
        self.isolation = isolation.resolve_mode(isolation_mode, allow_no_isolation)
        registry = _languages()
        self.runners: dict[str, Any] = {}
        self.missing: dict[str, str] = {}  # registered languages whose toolchain is not installed: why
        wanted = [registry.entry(n).name for n in languages] if languages is not None else registry.names()
        while wanted:
            name = wanted.pop(0)
            if name in self.runners or name in self.missing:
                continue
            runner = registry.get(name)()
            if runner.available():
                self.runners[name] = runner
                wanted.extend(getattr(runner, "requires", ()))  # e.g. TypeScript runs on the JavaScript runner
            elif languages is not None:
                raise SandboxError(_missing(runner))
            else:
                self.missing[name] = _missing(runner)
        self._builds: OrderedDict[str, dict] = OrderedDict()
        self._build_bytes = 0
        self.packages = packages
        self.disk_mb = disk_mb
        self._pool: list[_Worker] = []
        self._tmpdirs: list[tempfile.TemporaryDirectory] = []
        self._closed = False
        self.stats = {"executed": 0, "cached": 0, "restarts": 0, "compiled": 0, "builds_reused": 0,
                      "timeouts_retried": 0}

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        if self._closed:
            raise SandboxError("this sandbox is closed; open a new one")
        while len(self._pool) < self.workers:
            self._pool.append(self._spawn())

    def close(self) -> None:
        for worker in self._pool:
            worker.close()
        self._pool.clear()
        for tmp in self._tmpdirs:
            _force_cleanup(tmp)
        self._tmpdirs.clear()
        self._closed = True

    def _spawn(self) -> _Worker:
        langs = {name: os.path.realpath(r.child_file) for name, r in self.runners.items()}
        server = isolation.server_file()
        if self.isolation == "bwrap":
            binds = [b for r in self.runners.values() for b in r.binds()]
            argv, config = isolation.bwrap_argv(server, langs, binds, self.packages, self.disk_mb)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="codealign-sandbox-")
            self._tmpdirs.append(tmp)
            build = isolation.unshare_argv if self.isolation == "unshare" else isolation.plain_argv
            argv, config = build(server, langs, self.packages, tmp.name)
        config["language_config"] = {
            name: r.child_config() for name, r in self.runners.items() if hasattr(r, "child_config")
        }
        # If this process dies, the worker reads end-of-file on its request pipe and exits, taking its jail along.
        worker = _Worker(argv, config)
        worker.ready()
        return worker

    # -- running --------------------------------------------------------------------------------------------------

    def key(self, program: Program) -> str:
        runner = self.runners.get(program.language)
        runtime = runner.runtime_version() if runner is not None else None
        fields = {
            "engine": ENGINE_VERSION, "language": program.language, "runtime": runtime, "code": program.code,
            "tests": program.tests, "limits": program.limits.model_dump(exclude_none=True),
            "isolation": self.isolation, "checks": sorted(program.checks),
        }  # fmt: skip
        compile_limits = self._compile_limits(runner, program.limits)
        if compile_limits is not None:
            fields["compile"] = compile_limits
        return cache_key(fields)

    def _compile_limits(self, runner: Any, limits: Any) -> dict | None:
        """The compiler's limits: the language's defaults, overridden by `compile_timeout`/`compile_memory_mb`."""
        defaults = getattr(runner, "compile_limits", None)
        if defaults is None:
            return None
        run = limits.model_dump(exclude_none=True)
        out = {k: run[k] for k in ("timeout", "memory_mb", "max_processes", "max_file_mb", "max_open_files",
                                   "max_output_bytes")}  # fmt: skip
        for k, v in defaults.items():
            out[k] = max(out[k], v) if k in ("max_processes", "max_file_mb", "max_open_files") else v
        if limits.compile_timeout is not None:
            out["timeout"] = limits.compile_timeout
        if limits.compile_memory_mb is not None:
            out["memory_mb"] = limits.compile_memory_mb
        return out

    def _build_key(self, runner: Any, program: Program) -> str:
        return cache_key({
            "build": ENGINE_VERSION, "language": program.language, "runtime": runner.runtime_version(),
            "runner": _file_hash(runner.child_file), "code": program.code, "tests": program.tests,
        })  # fmt: skip

    def unsupported(self, language: str) -> str | None:
        """Why this pool cannot run `language` (unknown, or its runtime is missing), or None when it can.

        The language of a program is the user's input: a program in one that cannot run is a ConfigError naming the
        languages that can, never a sandbox_error (which says the engine failed)."""
        registry = _languages()
        name = registry.entry(language).name if language in registry else language
        if name in self.runners:
            return None
        here = ", ".join(sorted(self.runners)) or "none"
        if name in self.missing:  # registered, its toolchain not installed: the line names the package
            return f"{self.missing[name]}; available: {here}"
        if language in registry:
            return f"language {language!r} cannot run here (its runtime is not installed); available: {here}"
        return f"unknown language {language!r}; available: {here}"

    def _canonical(self, program: Program) -> Program:
        """The program with its language's registered name in place of an alias ("py", "js")."""
        registry = _languages()
        if program.language in registry:
            return program.model_copy(update={"language": registry.entry(program.language).name})
        return program

    def _run_indexed(self, programs: Iterator[Program]) -> Iterator[tuple[int, Outcome]]:
        if not self._pool:
            self.start()
        queue: deque[_Job] = deque()
        to_store: list[tuple[str, dict]] = []
        seq = 0
        exhausted = False
        caching = bool(getattr(self.cache, "enabled", True))
        try:
            while True:
                # Refill from the input, answering cached programs at once.
                if not exhausted and len(queue) < self.workers * _DEPTH:
                    batch = []
                    for program in programs:
                        if not isinstance(program, Program):
                            program = Program.model_validate(program)
                        if program.language not in self.runners:
                            program = self._canonical(program)
                        batch.append((seq, program, self.key(program) if caching else ""))
                        seq += 1
                        if len(batch) >= _READ_AHEAD:
                            break
                    else:
                        exhausted = True
                    found = (
                        self.cache.get_many(CACHE_NS, [k for _, _, k in batch]) if caching and batch else {}
                    )
                    found = usable_outcomes(found, self.retry_timeouts, self.stats)
                    for s, program, k in batch:
                        if k in found:
                            self.stats["cached"] += 1
                            yield s, Outcome.model_validate({**found[k], "id": program.id, "cached": True})
                        elif program.language in self.missing:
                            yield s, Outcome(id=program.id, status=Status.SANDBOX_ERROR,
                                             error=self.missing[program.language])  # fmt: skip
                        elif program.language not in self.runners:
                            raise ConfigError(f"program {program.id!r}: {self.unsupported(program.language)}")
                        else:
                            queue.append(_Job(s, program, k))
                # Keep every worker fed: one program running and one waiting in its pipe hides our latency.
                for worker in list(self._pool):
                    while len(worker.jobs) < _DEPTH and queue:
                        job = queue.popleft()
                        try:
                            self._dispatch(worker, job)
                        except OSError:
                            queue.appendleft(job)
                            self._replace(worker, queue)
                            break
                busy = [w for w in self._pool if w.jobs]
                if not busy:
                    if exhausted and not queue:
                        break
                    continue
                wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
                ready = _wait_readable([w.rfd for w in busy], wait)
                for worker in busy:
                    if worker.rfd in ready:
                        done = self._collect(worker, worker.recv(), queue)
                        if done is not None:
                            s, outcome, k = done
                            if caching and outcome.status is not Status.SANDBOX_ERROR:
                                to_store.append(
                                    (k, outcome.model_dump(mode="json", exclude={"id", "cached"}))
                                )
                            yield s, outcome
                    elif time.monotonic() > worker.deadline and worker.jobs:
                        # A worker that stopped answering is replaced; the program is our failure, not its own.
                        job = worker.jobs.popleft()
                        self._replace(worker, queue)
                        yield job.seq, Outcome(id=job.program.id, status=Status.SANDBOX_ERROR,
                                               error="the sandbox worker stopped answering; it was restarted")  # fmt: skip
                if len(to_store) >= _FLUSH_EVERY:
                    self.cache.put_many(CACHE_NS, to_store)
                    to_store = []
        finally:
            if to_store:
                self.cache.put_many(CACHE_NS, to_store)
            # An abandoned generator leaves programs running: restart those workers so the next run starts clean.
            for worker in list(self._pool):
                if worker.jobs:
                    worker.jobs.clear()
                    self._replace(worker, None)

    def _dispatch(self, worker: _Worker, job: _Job) -> None:
        program = job.program
        request: dict[str, Any] = {"language": program.language, "code": program.code, "tests": program.tests,
                                   "limits": program.limits.model_dump(), "checks": list(program.checks)}  # fmt: skip
        runner = self.runners[program.language]
        compile_limits = self._compile_limits(runner, program.limits)
        if compile_limits is not None:
            request["compile"] = compile_limits
            if not job.build_key:
                job = job._replace(build_key=self._build_key(runner, program))
            stored = self._builds.get(job.build_key)
            if stored is not None:
                self._builds.move_to_end(job.build_key)
                request["artefact"] = stored
            else:
                request["return_artefact"] = True
        if not worker.jobs:
            worker.deadline = time.monotonic() + _backstop(program.limits, compile_limits)
        worker.jobs.append(job)
        worker.send(request)

    def _store_build(self, key: str, files: dict) -> None:
        size = sum(len(data) for _, data in files.values())
        if key in self._builds or size > _BUILD_STORE_BYTES // 4:
            return
        self._builds[key] = files
        self._build_bytes += size
        while self._build_bytes > _BUILD_STORE_BYTES:
            _, old = self._builds.popitem(last=False)
            self._build_bytes -= sum(len(data) for _, data in old.values())

    def _replace(self, worker: _Worker, queue: deque | None) -> _Worker:
        """Swap a dead or stuck worker for a fresh one; programs it had not started go back to the queue."""
        if queue is not None:
            queue.extendleft(reversed(worker.jobs))
        worker.jobs.clear()
        worker.kill()
        self.stats["restarts"] += 1
        fresh = self._spawn()
        self._pool[self._pool.index(worker)] = fresh
        return fresh

    def _collect(self, worker: _Worker, result: dict | None, queue: deque) -> tuple[int, Outcome, str] | None:
        job = worker.jobs.popleft()
        if result is None:
            # The worker died (it is PID 1 of its namespace, so not by the program's hand): retry once elsewhere.
            self._replace(worker, queue)
            if job.attempt == 0:
                queue.appendleft(_Job(job.seq, job.program, job.key, 1))
                return None
            error = "the sandbox worker died twice running this program"
            return job.seq, Outcome(id=job.program.id, status=Status.SANDBOX_ERROR, error=error), job.key
        artefact = result.pop("artefact", None)
        if artefact is not None and job.build_key:
            self._store_build(job.build_key, artefact)
        if result.get("compile_duration") is not None:
            self.stats["compiled" if artefact is not None or result["compile_duration"] else "builds_reused"] += 1
        if result.pop("recycle", False):
            self._replace(worker, queue)
        elif worker.jobs:
            head = worker.jobs[0].program
            runner = self.runners[head.language]
            worker.deadline = time.monotonic() + _backstop(head.limits, self._compile_limits(runner, head.limits))
        self.stats["executed"] += 1
        result.setdefault("exit_code", None)
        return job.seq, Outcome.model_validate({**result, "id": job.program.id}), job.key


def usable_outcomes(found: dict[str, dict], retry_timeouts: bool, stats: dict[str, int]) -> dict[str, dict]:
    """The cached outcomes to answer with: all of them, or all but timeouts when those are to run again (the new
    outcome then replaces the cached one). `stats["timeouts_retried"]` counts the timeouts left out."""
    if not retry_timeouts:
        return found
    again = {k for k, v in found.items() if v.get("status") == Status.TIMEOUT.value}
    stats["timeouts_retried"] = stats.get("timeouts_retried", 0) + len(again)
    return {k: v for k, v in found.items() if k not in again} if again else found


def _backstop(limits: Any, compile_limits: dict | None = None) -> float:
    # Only a worker that is itself stuck gets here: the worker enforces the program's own deadline.
    timeout = limits.timeout + (compile_limits["timeout"] if compile_limits else 0.0)
    return timeout * 1.5 + 10.0


def _missing(runner: Any) -> str:
    explain = getattr(runner, "missing", None)
    if explain is not None:
        return explain()
    return f"language {runner.name!r}: its runtime is not installed"


_FILE_HASHES: dict[str, str] = {}


def _file_hash(path: str) -> str:
    """The content hash of a runner's file: a change to how a language builds is a different build."""
    if path not in _FILE_HASHES:
        import hashlib

        with open(path, "rb") as fh:
            _FILE_HASHES[path] = hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
    return _FILE_HASHES[path]


def _wait_readable(fds: list[int], timeout: float) -> set[int]:
    import select

    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return {fd for fd, _ in poller.poll(timeout * 1000)}


def _force_cleanup(tmp: tempfile.TemporaryDirectory) -> None:
    # Programs may leave read-only folders behind; make everything writable before removing it.
    for root, dirs, _ in os.walk(tmp.name):
        for d in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, d), 0o700)
    with contextlib.suppress(OSError):
        tmp.cleanup()
