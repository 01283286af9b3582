"""`codealign cache stats` and `codealign cache export`, run as a user runs them."""

import json
import subprocess
import sys

from codealign.cache import Cache
from codealign.llm import ChatMessage, Request, SamplingOptions, load_backend
from tests.llm.fake_openai import FakeOpenAI, expected_text


def _cli(*args, cache_dir):
    return subprocess.run([sys.executable, "-m", "codealign", *args, "--cache-dir", str(cache_dir)],
                          capture_output=True, text=True, timeout=60)


def test_stats_and_export_show_what_was_cached(tmp_path):
    reqs = [
        Request(prompt="def f():", options=SamplingOptions(n=2, seed=1)),
        Request(messages=(ChatMessage(role="user", content="hi"),), options=SamplingOptions(seed=2)),
    ]
    with FakeOpenAI() as server:
        config = {"type": "openai", "model": server.model, "base_url": server.base_url}
        with load_backend(config, Cache(tmp_path)) as backend:
            backend.generate(reqs)

    stats = _cli("cache", "stats", cache_dir=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert "fake-model" in stats.stdout and "llm" in stats.stdout

    out = tmp_path / "llm.jsonl"
    export = _cli("cache", "export", "-o", str(out), cache_dir=tmp_path)
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    completion = sorted((r for r in rows if r["mode"] == "completion"), key=lambda r: r["sample"])
    assert [r["prompt"] for r in completion] == ["def f():", "def f():"]
    assert completion[0]["text"] == expected_text("def f():", 1)
    (chat,) = [r for r in rows if r["mode"] == "chat"]
    assert chat["messages"] == [{"role": "user", "content": "hi"}] and chat["model"] == "fake-model"
