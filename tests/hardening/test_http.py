"""The HTTP client tells a dead server from a slow one, and a Ctrl-C with requests in flight ends cleanly."""

import os
import signal
import subprocess
import sys
import time

import pytest

from codealign.errors import BackendError
from codealign.llm import Request, SamplingOptions, load_backend
from tests.hardening.checks import assert_no_noise
from tests.hardening.inputs import REPO
from tests.llm.fake_openai import FakeOpenAI, expected_text


def _backend(server, **kw):
    return load_backend({"type": "openai", "model": server.model, "base_url": server.base_url, **kw})


def _requests(n):
    return [Request(prompt=f"p{i}", options=SamplingOptions(seed=i)) for i in range(n)]


@pytest.mark.parametrize("kind", ["builtin", "httpx"])
def test_a_server_that_never_answers_fails_once_without_retries(kind):
    stuck = r"answered nothing within 1 s \(it lists its models but is stuck"
    with FakeOpenAI(faults=["hang"] * 50) as server, _backend(server, first_byte_timeout=1, http_client=kind) as b, \
            pytest.raises(BackendError, match=stuck):
        b.generate(_requests(4))
    assert len(server.posts) == 4  # each request asked once: no seven rounds of retries


@pytest.mark.parametrize("kind", ["builtin", "httpx"])
def test_a_slow_server_that_streams_is_waited_for(kind):
    # Each answer takes about 1.5 s to stream, longer than the 1 s of silence that marks a dead server.
    with FakeOpenAI(chunk_chars=4, chunk_delay=0.3) as server, \
            _backend(server, first_byte_timeout=1, http_client=kind) as b:
        results = b.generate(_requests(3))
    assert [r.error for r in results] == [None] * 3
    assert [r.completions[0].text for r in results] == [expected_text(f"p{i}", i) for i in range(3)]
    assert all(p.get("stream") is True for p in server.posts)
    assert [r.usage.prompt_tokens for r in results] == [1, 1, 1]  # usage comes in the last event


@pytest.mark.parametrize("mode", ["refuse", "ignore"])
def test_servers_that_refuse_or_ignore_streaming_still_answer(mode):
    with FakeOpenAI(streams=mode) as server, _backend(server) as b:
        results = b.generate(_requests(3))
        assert [r.completions[0].text for r in results] == [expected_text(f"p{i}", i) for i in range(3)]
        later = b.generate([Request(prompt="q", options=SamplingOptions(seed=9))])
    assert later[0].error is None
    assert server.posts[-1].get("stream") is None  # once told, whole answers are asked for


def test_ctrl_c_with_requests_in_flight_prints_one_line(tmp_path):
    config = tmp_path / "run.yaml"
    with FakeOpenAI(model="m", faults=["hang"] * 200) as server:
        config.write_text(
            f"run_dir: {tmp_path / 'run'}\nseeds:\n  path: {REPO / 'examples' / 'seeds.jsonl'}\n"
            f"backend:\n  type: openai\n  model: m\n  base_url: {server.base_url}\n"
        )
        proc = subprocess.Popen([sys.executable, "-m", "codealign", "run", str(config), "--quiet",
                                 "--cache-dir", str(tmp_path / "cache")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 120
        while len(server.posts) < 7 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(server.posts) == 7, "the run did not send its first requests"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert_no_noise(stdout + stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"interrupted: finished work is saved; rerun the same command to continue ({tmp_path / 'run'})"]
