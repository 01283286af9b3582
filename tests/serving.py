"""`transformers serve` for tests: the real server on a free port of 127.0.0.1, stopped however the test ends."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVE = Path(sys.executable).parent / "transformers"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(model: str | Path, workdir: Path, ready_timeout: float = 300) -> Iterator[str]:
    """Serve `model` (offline, on the CPU) and yield its base URL (ending in /v1) once /health answers; a server that
    exits or is not ready in time fails the test with the end of its log (`workdir/serve.log`)."""
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    if not SERVE.exists():
        pytest.skip("transformers serve is not installed (pip install 'codealign[serving]')")
    port = free_port()
    log = workdir / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(workdir / "hf")}
    with log.open("w") as fh:
        proc = subprocess.Popen([str(SERVE), "serve", str(model), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu"], stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
