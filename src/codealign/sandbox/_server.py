"""The worker that lives inside the isolation: it reads programs, forks one child per program, returns outcomes.

Standard library only, and no codealign imports: the sandbox sees no codealign installation, just this file and the
language files bound next to it. Inside a PID namespace it runs as PID 1, so nothing the program does can signal it,
and after every program it kills every other process in the namespace. Frames on fds 0 (in) and 1 (out) are a 4-byte
big-endian length followed by JSON.
"""

import base64
import contextlib
import gc
import importlib.util
import json
import marshal
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

_HEADER = struct.Struct(">I")
_TOKEN_CAP = 1 << 20
BUILD_DIR = "build"  # where a compiler writes what the program runs, under the working directory
_ARTEFACT_CAP = 64 << 20  # builds larger than this are not sent back to be stored
_MAX_STRETCH = 1.0  # a starved program gets at most this many extra timeouts of wall-clock time


def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_body(fd):
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    return _read_exact(fd, _HEADER.unpack(head)[0])


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_frame(fd, obj):
    body = json.dumps(obj).encode()
    _write_all(fd, _HEADER.pack(len(body)) + body)


class Tail:
    """The last `cap` bytes of a stream, and how many bytes it had in all."""

    def __init__(self, cap):
        self.cap = cap
        self.buf = bytearray()
        self.total = 0

    def add(self, data):
        self.total += len(data)
        self.buf += data
        if len(self.buf) > 2 * self.cap:
            del self.buf[: -self.cap]

    def text(self):
        data = bytes(self.buf[-self.cap :])
        text = data.decode("utf-8", "replace")
        if self.total > len(data):
            text = f"[... {self.total - len(data)} bytes cut ...]\n" + text
        return text


def clear_dir(path, keep=()):
    """Empty a directory the program wrote to, whatever modes it left; False if something stayed."""
    ok = True
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    for entry in entries:
        if entry.name in keep:
            continue
        full = entry.path
        try:
            if entry.is_dir(follow_symlinks=False):
                for root, dirs, _ in os.walk(full):
                    for d in dirs:
                        with contextlib.suppress(OSError):
                            os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                os.chmod(full, 0o700)
                shutil.rmtree(full)
            else:
                os.unlink(full)
        except OSError:
            ok = False
    return ok


def pack(root):
    """The files under `root` as {relative path: [mode, base64]}, or None when there are too many bytes."""
    files, total = {}, 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                data = fh.read(_ARTEFACT_CAP + 1)
            total += len(data)
            if total > _ARTEFACT_CAP:
                return None
            files[os.path.relpath(path, root)] = [os.stat(path).st_mode & 0o755, base64.b64encode(data).decode()]
    return files


def unpack(root, files):
    for rel, (mode, data) in files.items():
        path = os.path.normpath(os.path.join(root, rel))
        if not path.startswith(root + os.sep):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(data))


class Server:
    def __init__(self, config):
        self.config = config
        self.spare = None
        self.pid1 = os.getpid() == 1
        self.workdir = config["workdir"]
        self.scratch = [d for d in config.get("scratch", []) if os.path.isdir(d)]
        self.env = dict(config["env"], HOME=self.workdir, TMPDIR=self.workdir, PWD=self.workdir)
        self.languages = {}
        for name, path in config["languages"].items():
            # Registered under a fixed name, so one runner can use another's child half (TypeScript runs on node).
            spec = importlib.util.spec_from_file_location(f"codealign_lang_{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self.languages[name] = module
        for name, module in self.languages.items():
            configure = getattr(module, "configure", None)
            if configure is not None:
                configure(config.get("language_config", {}).get(name, {}))
            module.preload()
        if not self.pid1:
            _set_subreaper()
        # Set up once what every child would otherwise set up itself: its environment and working directory.
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.workdir)
        # Same user as the programs, so keep them from attaching to us with ptrace.
        _set_dumpable(0)
        # Children then share the template's pages instead of copying them when the collector touches them.
        gc.collect()
        gc.freeze()

    # -- one program --------------------------------------------------------------------------------------------

    def _prefork(self):
        """A child forked ahead of its request, so a fork never sits between a request and its program."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        tok_r, tok_w = os.pipe()
        req_r, req_w = os.pipe()
        nonce = os.urandom(16).hex()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                self._child(out_w, err_w, tok_w, req_r, nonce)
            finally:
                os._exit(70)
        for fd in (out_w, err_w, tok_w, req_r):
            os.close(fd)
        return {"pid": pid, "out": out_r, "err": err_r, "tok": tok_r, "req": req_w, "nonce": nonce}

    def _discard(self, spare):
        _kill(spare["pid"])
        with contextlib.suppress(ChildProcessError):
            os.waitpid(spare["pid"], 0)
        for key in ("out", "err", "tok", "req"):
            with contextlib.suppress(OSError):
                os.close(spare[key])

    def _hand_over(self, body):
        """Give the request to the waiting child; a spare that died meanwhile is replaced once."""
        for attempt in range(2):
            spare, self.spare = self.spare or self._prefork(), None
            try:
                _write_all(spare["req"], body)
                os.close(spare["req"])
                return spare
            except OSError:
                self._discard(spare)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def run(self, req):
        """One program: for a compiled language, a build (or a stored one) first, then the run; then clean up."""
        module = self.languages.get(req.get("language"))
        if module is None:
            return {
                "status": "sandbox_error",
                "error": f"language {req.get('language')!r} is not loaded in this pool",
            }
        prepare = getattr(module, "prepare", None)
        if prepare is not None:
            # Work the language does once per program in this warm process rather than in the forked child.
            with contextlib.suppress(Exception):  # the child then does without it
                req = prepare(req)
        try:
            result = self._program(module, req)
        finally:
            clean = clear_dir(self.workdir) and all(clear_dir(d) for d in self.scratch)
            if self.pid1:  # the IPC namespace is the worker's: System V objects would outlive the program otherwise
                _clear_sysv_ipc()
        if not clean:
            result["recycle"] = True
        return result

    def _program(self, module, req):
        compile_limits = req.get("compile")
        if compile_limits is None:
            return self._execute(module, req)
        result, built = self._build(module, req, compile_limits)
        if result is not None:
            return result
        # The program starts in the same working directory whether its build is fresh or stored.
        clear_dir(self.workdir, keep=(BUILD_DIR,))
        result = self._execute(module, req)
        result["compile_duration"] = built["duration"]
        if built["artefact"] is not None:
            result["artefact"] = built["artefact"]
        return result

    def _build(self, module, req, limits):
        """Compile in a child of its own with the compiler's limits, or unpack the build the engine sent."""
        build_dir = os.path.join(self.workdir, BUILD_DIR)
        if req.get("artefact") is not None:
            unpack(build_dir, req["artefact"])
            return None, {"duration": 0.0, "artefact": None}
        raw = self._phase(dict(req, limits=limits, phase="compile", artefact=None))
        duration = raw["duration"]
        verdict = classify_build(raw, limits)
        compiled = getattr(module, "compiled", None)
        if compiled is not None:
            verdict = compiled(raw, verdict)
        if verdict is not None:
            verdict.update(duration=0.0, cpu_time=0.0, compile_duration=round(duration, 6))
            verdict.setdefault("stdout", raw["stdout"])
            verdict.setdefault("stderr", raw["stderr"])
            return verdict, None
        built = {"duration": round(duration, 6), "artefact": None}
        if req.get("return_artefact"):
            built["artefact"] = pack(build_dir)
        return None, built

    def _execute(self, module, req):
        raw = self._phase(dict(req, phase="run", artefact=None))
        result = classify(raw["status"], raw["timed_out"], raw["token"], raw["nonce"], req["limits"], raw["cpu_time"])
        result.update(
            duration=round(raw["duration"], 6),
            cpu_time=round(raw["cpu_time"], 6),
            stdout=raw["stdout"],
            stderr=raw["stderr"],
        )
        refine = getattr(module, "refine", None)
        if refine is not None:
            result = refine(result)
        return result

    def _phase(self, req):
        """Hand `req` to a forked child, enforce its deadline, kill what it left; what happened, unclassified."""
        limits = req["limits"]
        # marshal, not JSON: the child decodes it before anything else, and it is the cheapest decoder there is.
        spare = self._hand_over(marshal.dumps(req))
        start = time.monotonic()
        pid, nonce = spare["pid"], spare["nonce"]
        out_r, err_r, tok_r = spare["out"], spare["err"], spare["tok"]
        cap = limits["max_output_bytes"]
        streams = {out_r: Tail(cap), err_r: Tail(cap), tok_r: Tail(_TOKEN_CAP)}
        deadline = start + limits["timeout"]
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        for fd in (*streams, pidfd):
            poller.register(fd, select.POLLIN)
        timed_out = False
        open_fds = set(streams)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                # Time spent waiting for a CPU (a loaded machine) is not the program's: stretch the deadline by it.
                stretched = (
                    start + limits["timeout"] + min(_runqueue_wait(pid), limits["timeout"] * _MAX_STRETCH)
                )
                if stretched > time.monotonic() + 0.001:
                    deadline = stretched
                    continue
                timed_out = True
                break
            events = poller.poll(left * 1000)
            exited = False
            for fd, _ in events:
                if fd == pidfd:
                    exited = True
                    continue
                data = _read_some(fd)
                if data:
                    streams[fd].add(data)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
            if exited:
                break
        duration = time.monotonic() - start
        if timed_out:
            _kill(-1 if self.pid1 else -pid)
            _kill(pid)
        _, status, usage = os.wait4(pid, 0)
        os.close(pidfd)
        self._kill_all(pid)
        # Every writer is dead now, so these reads end.
        for fd in open_fds:
            while True:
                data = _read_some(fd)
                if not data:
                    break
                streams[fd].add(data)
        for fd in streams:
            os.close(fd)
        return {
            "status": status,
            "timed_out": timed_out,
            "token": streams[tok_r].buf,
            "nonce": nonce,
            "duration": duration,
            "cpu_time": usage.ru_utime + usage.ru_stime,
            "stdout": streams[out_r].text(),
            "stderr": streams[err_r].text(),
        }

    def _child(self, out_w, err_w, tok_w, req_r, nonce):  # pragma: no cover - runs in the child
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        token_fd = os.dup2(tok_w, 3)
        os.dup2(req_r, 4)
        os.closerange(5, 1 << 20)
        os.set_inheritable(3, False)
        _set_dumpable(1)  # the worker is not traceable; the program's own processes may trace each other
        if not self.pid1:
            _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: without a namespace, die at least with the worker
        chunks = []
        while True:
            chunk = os.read(4, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(4)
        if not chunks:  # the worker is shutting down
            os._exit(0)
        req = marshal.loads(b"".join(chunks))
        limits = req["limits"]
        mib = 1 << 20
        cpu = int(limits["timeout"]) + 1
        nproc = limits["max_processes"] + (1 if self.pid1 else 0)  # the server counts against the same user
        for which, value in (
            (resource.RLIMIT_CPU, (cpu, cpu + 1)),
            (resource.RLIMIT_AS, (limits["memory_mb"] * mib,) * 2),
            (resource.RLIMIT_DATA, (limits["memory_mb"] * mib,) * 2),
            (resource.RLIMIT_NPROC, (nproc, nproc)),
            (resource.RLIMIT_FSIZE, (limits["max_file_mb"] * mib,) * 2),
            (resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2),
            (resource.RLIMIT_CORE, (0, 0)),
        ):
            try:
                resource.setrlimit(which, value)
            except (ValueError, OSError):
                # A hard limit already below ours (a container's) stays as it is.
                soft, hard = resource.getrlimit(which)
                resource.setrlimit(which, (min(value[0], hard), hard))
        module = self.languages[req["language"]]
        if req.get("phase") == "compile":
            module.compile(req)  # becomes the compiler; its exit status says whether the build succeeded
            os._exit(0)
        module.execute(req, token_fd, nonce)

    def _kill_all(self, pid):
        """Kill the program and everything it started, daemons included, and reap them."""
        for attempt in range(10000):
            if self.pid1:
                # PID 1 of the namespace: kill(-1) reaches every other process in it, and none can reach us.
                _kill(-1)
            else:
                _kill(-pid)
                for child in _children_of(os.getpid()):
                    _kill(child)
            while True:
                try:
                    reaped, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return
                if reaped == 0:
                    break
            time.sleep(min(0.0002 * (attempt + 1), 0.01))

    # -- the loop -----------------------------------------------------------------------------------------------

    def serve(self, rfd, wfd):
        self.spare = self._prefork()
        write_frame(wfd, {"ready": True, "pid1": self.pid1, "python": sys.version.split()[0]})
        while True:
            body = read_body(rfd)
            if body is None:
                if self.spare is not None:
                    self._discard(self.spare)
                return
            try:
                result = self.run(json.loads(body))
            except Exception as exc:  # a bug of ours: report it, keep serving
                import traceback

                result = {
                    "status": "sandbox_error",
                    "error": f"{type(exc).__name__}: {exc}",
                    "stderr": traceback.format_exc()[-4000:],
                }
            write_frame(wfd, result)
            if result.get("recycle"):
                return
            if self.spare is None:
                self.spare = self._prefork()


def _read_some(fd):
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


_SYSV_TABLES = (("/proc/sysvipc/shm", "shmctl"), ("/proc/sysvipc/sem", "semctl"), ("/proc/sysvipc/msg", "msgctl"))


def _clear_sysv_ipc():
    """Remove the shared memory segments, semaphore sets and message queues a program left behind."""
    for path, call in _SYSV_TABLES:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            # The header alone fits one read; only a table with objects in it is read on.
            chunks = [os.read(fd, 4096)]
            while chunks[-1]:
                chunks.append(os.read(fd, 65536))
        except OSError:
            continue
        finally:
            os.close(fd)
        rows = b"".join(chunks).splitlines()[1:]
        for row in rows:
            ident = int(row.split()[1])
            if call == "semctl":
                _libc().semctl(ident, 0, 0)  # IPC_RMID
            else:
                getattr(_libc(), call)(ident, 0, None)  # IPC_RMID


def _runqueue_wait(pid):
    """Seconds the program's main thread has spent runnable but waiting for a CPU."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _kill(pid):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _children_of(ppid):
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces or parentheses; the fields after its last ")" are fixed.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == ppid:
            kids.append(int(name))
    return kids


_LIBC = []


def _libc():
    if not _LIBC:  # loaded once, in the worker; children inherit it
        import ctypes

        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _prctl(option, value):
    _libc().prctl(option, value, 0, 0, 0)


def _set_subreaper():
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of the programs come back to us


def _set_dumpable(flag):
    _prctl(4, flag)  # PR_SET_DUMPABLE


_SIGNAL_NAMES = {s.value: s.name for s in signal.Signals}


def classify(status, timed_out, token, nonce, limits, cpu_time=0.0):
    """Turn the wait status and what the child reported into an outcome dict."""
    report = None
    for line in bytes(token).splitlines():
        if nonce.encode() not in line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("nonce") == nonce:
            report = obj
    exit_code = os.waitstatus_to_exitcode(status)
    if timed_out:
        return {"status": "timeout", "exit_code": None, "error": f"no result within {limits['timeout']:g} s"}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = _SIGNAL_NAMES.get(sig, str(sig))
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_time >= int(limits["timeout"]) + 1):
            return {"status": "timeout", "exit_code": exit_code, "error": f"CPU time limit reached ({name})"}
        if sig == signal.SIGXFSZ:
            return {
                "status": "failed",
                "exit_code": exit_code,
                "error_type": "SIGXFSZ",
                "error": f"wrote a file over the {limits['max_file_mb']} MiB limit",
            }
        if report is not None and report.get("status") != "passed":
            report.pop("nonce", None)
            report["exit_code"] = exit_code
            return report
        return {"status": "crashed", "exit_code": exit_code, "error": f"killed by signal {name}"}
    if report is not None:
        report.pop("nonce", None)
        report["exit_code"] = exit_code
        return report
    if exit_code == 0:
        return {
            "status": "crashed",
            "exit_code": 0,
            "error": "exited with status 0 before its tests finished",
        }
    return {"status": "failed", "exit_code": exit_code, "error": f"exited with status {exit_code}"}


def classify_build(raw, limits):
    """None when the compiler succeeded; else the outcome: `timeout`, or `syntax` with the compiler's message."""
    status = raw["status"]
    if raw["timed_out"] or (
        os.WIFSIGNALED(status)
        and (os.WTERMSIG(status) == signal.SIGXCPU or raw["cpu_time"] >= int(limits["timeout"]) + 1)
    ):
        return {
            "status": "timeout",
            "exit_code": None,
            "error_type": "CompileTimeout",
            "error": f"the compiler ran past its {limits['timeout']:g} s limit",
        }
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return None
    message = (raw["stderr"].strip() or raw["stdout"].strip())[:4000]
    if os.WIFSIGNALED(status):
        name = _SIGNAL_NAMES.get(os.WTERMSIG(status), str(os.WTERMSIG(status)))
        message = f"the compiler was killed by signal {name}" + (f": {message}" if message else "")
    return {
        "status": "syntax",
        "exit_code": os.waitstatus_to_exitcode(status),
        "error_type": "CompileError",
        "error": message or f"the compiler exited with status {os.waitstatus_to_exitcode(status)}",
    }


def main():
    config = json.loads(sys.argv[1])
    for path in config.get("sys_path", []):
        if os.path.isdir(path):
            import site

            site.addsitedir(path)
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    os.makedirs(config["workdir"], exist_ok=True)
    server = Server(config)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError):
        server.serve(rfd, wfd)
    os._exit(0)


if __name__ == "__main__":
    main()
