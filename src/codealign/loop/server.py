"""A model server the loop owns: started on the model a step needs, restarted when the model changes, never orphaned.

The server runs in a session of its own (so stopping it reaches every process it started: vLLM's workers, say) and
is told to die with the loop (Linux's parent-death signal), so a `kill -9` of the loop does not leave it holding the
port or the accelerator. Its pid is also written to `LOOP_DIR/<name>.json`; a rerun stops a server a killed loop
left behind before starting its own. Ready means: `base_url + ready_path` answers 200 and, when it lists models,
lists the model by the exact name the requests will use.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from codealign.errors import BackendError
from codealign.records import AtomicWriter


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (Linux prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


class ModelServer:
    """One server process for one backend block; `serve(model)` makes sure it is up and serving `model`."""

    def __init__(self, config: Any, base_url: str, state_file: Path, log_file: Path, say: Any = None) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.state_file = state_file
        self.log_file = log_file
        self.say = say or (lambda *a, **k: None)
        self.proc: subprocess.Popen | None = None
        self.model: str | None = None
        self.started = 0  # servers started by this object: what tests and the summary count

    def argv(self, model: str) -> list[str]:
        url = urlsplit(self.base_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        values = {"model": model, "host": url.hostname or "127.0.0.1", "port": str(port), "python": sys.executable}
        try:
            return [part.format(**values) for part in shlex.split(self.config.command)]
        except (KeyError, IndexError, ValueError) as exc:
            raise BackendError(f"server.command {self.config.command!r}: {exc} (placeholders: {{model}}, {{host}}, "
                               "{port}, {python})") from None  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def serve(self, model: str) -> None:
        """Have the server up and serving `model`: nothing to do when it already is, else (re)start it."""
        if self.proc is not None and self.proc.poll() is None and self.model == model:
            return
        self.stop()
        self._stop_leftover()
        if self._answers():
            raise BackendError(f"something already answers at {self.base_url}, which the loop's server must use; "
                               "stop it, or change the backend's base_url and port")  # fmt: skip
        argv = self.argv(model)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"[cyan]server[/]: starting {shlex.join(argv)} (log: {self.log_file})")
        env = {**os.environ, **self.config.env}
        with self.log_file.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(argv)}\n".encode())
            log.flush()
            try:
                self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                             start_new_session=True, preexec_fn=_die_with_parent)  # fmt: skip
            except OSError as exc:
                raise BackendError(f"cannot start the server ({argv[0]}): {exc.strerror or exc}") from None
        self.model = model
        self.started += 1
        self._write_state(argv)
        self._wait_ready(model)

    def stop(self) -> None:
        """Stop the server (its whole session), if one is running."""
        proc, self.proc, self.model = self.proc, None, None
        if proc is not None:
            self._terminate(proc.pid, lambda: proc.poll() is not None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def _terminate(self, pid: int, done: Any) -> None:
        for sig, wait in ((signal.SIGTERM, self.config.stop_timeout), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if done():
                    return
                time.sleep(0.1)

    def _stop_leftover(self) -> None:
        """A server recorded by a loop that was killed, still running the same command: stop it."""
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        pid = state.get("pid")
        if isinstance(pid, int) and _alive(pid) and _cmdline(pid) == state.get("argv"):
            self.say(f"[yellow]server[/]: stopping the server pid {pid} a previous loop left running")
            self._terminate(pid, lambda: not _alive(pid) or _cmdline(pid) != state.get("argv"))
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def _write_state(self, argv: list[str]) -> None:
        assert self.proc is not None
        with AtomicWriter(self.state_file) as fh:
            json.dump({"pid": self.proc.pid, "argv": argv, "model": self.model, "base_url": self.base_url}, fh)

    # -- readiness ---------------------------------------------------------------------------------------------

    def _answers(self) -> bool:
        import httpx

        try:
            httpx.get(self.base_url + self.config.ready_path, timeout=2.0)
        except httpx.HTTPError:
            return False
        return True

    def _wait_ready(self, model: str) -> None:
        import httpx

        deadline = time.monotonic() + self.config.ready_timeout
        url = self.base_url + self.config.ready_path
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise BackendError(f"the server exited with status {code} before it was ready; the end of "
                                   f"{self.log_file}: {self.log_tail()}")  # fmt: skip
            try:
                resp = httpx.get(url, timeout=5.0)
                if resp.status_code == 200 and self._lists(resp, model):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BackendError(f"the server did not list {model!r} at {url} within {self.config.ready_timeout:g} s "
                                   f"(server.ready_timeout); the end of {self.log_file}: {self.log_tail()}")  # fmt: skip
            time.sleep(0.25)

    @staticmethod
    def _lists(resp: Any, model: str) -> bool:
        """True unless the answer is a model list without `model` (an old server still answering, or a wrong name)."""
        try:
            data = resp.json().get("data")
        except (ValueError, AttributeError):
            return True
        if not isinstance(data, list):
            return True
        return any(isinstance(m, dict) and m.get("id") == model for m in data)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(empty)"
