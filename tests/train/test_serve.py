"""`transformers serve` serves a trained output folder as it is, chat template included."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codealign.train import train
from tests.train.conftest import config, write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.network]
SERVE = Path(sys.executable).parent / "transformers"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_transformers_serve_loads_the_trained_folder(tiny_model_path, tmp_path):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    if not SERVE.exists():
        pytest.skip("transformers serve is not installed (pip install 'codealign[serving]')")
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": f"Return {i}.", "response": f"return {i}"} for i in range(8)])
    out = tmp_path / "model"
    train(config(tiny_model_path, out, str(data), peft="lora", epochs=2))
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    with log.open("w") as fh:
        proc = subprocess.Popen([str(SERVE), "serve", str(out), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
                                stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=120, json={
            "model": str(out), "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user", "content": "Return 3."}]})  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert isinstance(reply.json()["choices"][0]["message"]["content"], str)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
