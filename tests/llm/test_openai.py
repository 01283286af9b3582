"""The openai backend against real HTTP servers on 127.0.0.1: answers, cache, retries and clear errors."""

import time

import pytest

from codealign.cache import Cache
from codealign.errors import BackendError, ConfigError
from codealign.llm import ChatMessage, Request, SamplingOptions, derive_seed, load_backend
from tests.llm.fake_openai import FakeOpenAI, expected_text


def _backend(server, cache=None, **kw):
    config = {"type": "openai", "model": server.model, "base_url": server.base_url, "retry_backoff": 0.05, **kw}
    return load_backend(config, cache)


def test_completion_and_chat_answers_follow_the_seed(tmp_path):
    with FakeOpenAI() as server, _backend(server) as backend:
        reqs = [
            Request(prompt="def f(x):", options=SamplingOptions(n=3, seed=7)),
            Request(messages=(ChatMessage(role="user", content="hi"),), options=SamplingOptions(seed=1)),
        ]
        completion, chat = backend.generate(reqs)
        assert completion.error is None and chat.error is None
        assert [c.text for c in completion.completions] == [
            expected_text("def f(x):", derive_seed(7, i)) for i in range(3)
        ]
        assert [c.index for c in completion.completions] == [0, 1, 2]
        assert chat.completions[0].text == expected_text('[{"role": "user", "content": "hi"}]', 1)
        paths = {p.get("prompt") is not None for p in server.posts}
        assert paths == {True, False}
        assert completion.usage.completion_tokens == 9
        usage = backend.usage.as_dict()
        assert usage["requests"] == 2 and usage["backend_calls"] == 4 and usage["samples_generated"] == 4


def test_second_identical_run_makes_no_calls_and_missing_samples_are_topped_up(tmp_path):
    cache = Cache(tmp_path)
    reqs = [Request(prompt=f"p{i}", options=SamplingOptions(n=2, seed=i)) for i in range(5)]
    with FakeOpenAI() as server:
        with _backend(server, cache) as backend:
            first = backend.generate(reqs)
        calls = len(server.posts)
        assert calls == 10
        with _backend(server, cache) as backend:
            second = backend.generate(reqs)
            assert backend.usage.as_dict()["cache_hits"] == 10
        assert len(server.posts) == calls
        assert [r.completions for r in second] == [r.completions for r in first]
        assert all(r.cached == 2 for r in second)
        # Asking for n=5 of the same request asks only for samples 2..4, with their own seeds.
        with _backend(server, cache) as backend:
            (more,) = backend.generate([Request(prompt="p0", options=SamplingOptions(n=5, seed=0))])
        new = server.posts[calls:]
        assert sorted(p["seed"] for p in new) == sorted(derive_seed(0, i) for i in (2, 3, 4))
        assert more.cached == 2 and [c.text for c in more.completions[:2]] == [c.text for c in first[0].completions]


def test_unseeded_n_goes_in_one_call_and_servers_that_ignore_n_get_separate_calls():
    with FakeOpenAI() as server, _backend(server) as backend:
        (res,) = backend.generate([Request(prompt="x", options=SamplingOptions(n=4))])
        assert len(res.completions) == 4 and len(server.posts) == 1 and server.posts[0]["n"] == 4
    with FakeOpenAI(ignore_n=True) as server, _backend(server) as backend:
        results = backend.generate([Request(prompt=f"x{i}", options=SamplingOptions(n=4)) for i in range(3)])
        assert all(len(r.completions) == 4 and r.error is None for r in results)
        assert backend.honours_n is False
        # Learnt once: later requests are sent as n=1 calls only.
        assert len(server.posts) <= 3 * 4 + 3


KINDS = pytest.mark.parametrize("kind", ["builtin", "httpx"])


@KINDS
def test_retries_on_429_500_and_dropped_connections(kind):
    faults = ["429", "500", "drop", "500"]
    with FakeOpenAI(faults=faults, retry_after=0.4) as server, \
            _backend(server, max_in_flight=1, http_client=kind) as backend:
        started = time.monotonic()
        (res,) = backend.generate([Request(prompt="q", options=SamplingOptions(seed=3))])
        assert res.error is None and res.completions[0].text == expected_text("q", 3)
        assert len(server.posts) == 5
        # Retry-After was honoured: the second attempt came at least 0.4 s after the 429.
        assert server.post_times[1] - server.post_times[0] >= 0.39
        assert time.monotonic() - started < 10


@KINDS
def test_slow_responses_time_out_and_final_failure_is_recorded_not_raised(tmp_path, kind):
    cache = Cache(tmp_path)
    with FakeOpenAI(faults=["slow"] * 3, slow_delay=3.0) as server:
        with _backend(server, cache, timeout=0.5, max_retries=1, http_client=kind) as backend:
            results = backend.generate([
                Request(prompt="a", options=SamplingOptions(seed=1)),
                Request(prompt="b", options=SamplingOptions(seed=2)),
            ])
        failed = [r for r in results if r.error]
        assert failed and all("0.5s" in r.error and "2 attempts" in r.error for r in failed)
        assert all(r.completions == [] for r in failed)
        assert backend.usage.as_dict()["errors"] == len(failed)
        # Failures are not cached: a rerun asks again and now succeeds.
        with _backend(server, cache) as backend:
            again = backend.generate([Request(prompt="a", options=SamplingOptions(seed=1))])
        assert again[0].error is None and again[0].completions[0].text == expected_text("a", 1)


def test_client_cuts_at_stop_strings_when_the_server_does_not():
    with FakeOpenAI(suffix="\n## Example 2\nmore") as server, _backend(server) as backend:
        (res,) = backend.generate([Request(prompt="p", options=SamplingOptions(seed=5, stop=("## Example",)))])
        assert res.completions[0].text == expected_text("p", 5) + "\n"
        assert res.completions[0].finish_reason == "stop"
        assert server.posts[0]["stop"] == ["## Example"]


@KINDS
def test_clear_one_line_errors_for_wrong_url_missing_model_and_bad_options(kind):
    with FakeOpenAI() as server:
        port = server.port
        wrong_model = load_backend({"type": "openai", "model": "nope", "base_url": server.base_url,
                                    "http_client": kind})
        with pytest.raises(BackendError, match="model 'nope' not found at .*does not exist.*serves: fake-model"):
            wrong_model.generate([Request(prompt="x")])
        no_v1 = load_backend({"type": "openai", "model": "fake-model", "base_url": f"http://127.0.0.1:{port}",
                              "http_client": kind})
        with pytest.raises(BackendError, match="HTTP 404.*/v1"):
            no_v1.generate([Request(prompt="x")])
    dead = load_backend({"type": "openai", "model": "m", "base_url": f"http://127.0.0.1:{port}/v1", "http_client": kind})
    with pytest.raises(BackendError, match="cannot reach .* is the server running"):
        dead.generate([Request(prompt="x")])
    with pytest.raises(ConfigError, match="base_url: Value error, must start with http://"):
        load_backend({"type": "openai", "model": "m", "base_url": "127.0.0.1:8000/v1"})
    with pytest.raises(ConfigError, match="needs base_url"):
        load_backend({"type": "openai", "model": "m"})
    with pytest.raises(ConfigError, match="max_in_fligth: unknown key"):
        load_backend({"type": "openai", "model": "m", "base_url": "http://x/v1", "max_in_fligth": 3})
    with pytest.raises(ConfigError, match="unknown backend 'opneai'"):
        load_backend({"type": "opneai", "model": "m"})


@KINDS
def test_api_key_comes_from_the_named_environment_variable(monkeypatch, kind):
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    with FakeOpenAI(require_key="sk-test-123") as server, \
            _backend(server, api_key_env="MY_KEY", http_client=kind) as backend:
        (res,) = backend.generate([Request(prompt="x", options=SamplingOptions(seed=1))])
        assert res.error is None and res.completions[0].text == expected_text("x", 1)
    with FakeOpenAI(require_key="sk-test-123") as server:
        backend = _backend(server, http_client=kind)  # OPENAI_API_KEY is unset in tests
        with pytest.raises(BackendError, match=r"refused the request \(HTTP 401\): set \$OPENAI_API_KEY"):
            backend.generate([Request(prompt="x")])


def test_replay_answers_from_the_cache_and_fails_clearly_on_a_miss(tmp_path):
    cache = Cache(tmp_path)
    req = Request(prompt="hello", options=SamplingOptions(n=2, seed=9))
    with FakeOpenAI() as server, _backend(server, cache) as backend:
        (original,) = backend.generate([req])
    replay = load_backend({"type": "replay", "model": "fake-model"}, cache)
    (again,) = replay.generate([req])
    assert again.completions == original.completions and again.cached == 2
    with pytest.raises(BackendError, match="replay: 1 samples of 1 requests .* not in"):
        replay.generate([Request(prompt="other", options=SamplingOptions(seed=9))])


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_builtin_transport_reads_chunked_and_close_delimited_bodies(framing):
    with FakeOpenAI(framing=framing) as server, _backend(server, http_client="builtin", max_in_flight=3) as backend:
        reqs = [Request(prompt=f"p{i}", options=SamplingOptions(seed=i)) for i in range(6)]
        results = backend.generate(reqs)
    assert [r.completions[0].text for r in results] == [expected_text(f"p{i}", i) for i in range(6)]


def test_usage_table_reports_the_figures(tmp_path):
    from rich.console import Console

    with FakeOpenAI(delay=0.01) as server, _backend(server, Cache(tmp_path)) as backend:
        backend.generate([Request(prompt=f"p{i}", options=SamplingOptions(seed=i)) for i in range(4)])
        backend.generate([Request(prompt="p0", options=SamplingOptions(seed=0))])
        usage = backend.usage.as_dict()
        console = Console(width=100, record=True)
        console.print(backend.usage.table())
    assert usage["requests"] == 5 and usage["backend_calls"] == 4 and usage["cache_hits"] == 1
    assert usage["latency_p50_s"] >= 0.01 and usage["latency_p95_s"] >= usage["latency_p50_s"]
    assert usage["completion_tokens"] == 12 and usage["tokens_per_s"] > 0
    text = console.export_text()
    assert "backend calls" in text and "latency p95 s" in text


def test_the_same_request_twice_in_one_call_is_asked_once():
    with FakeOpenAI() as server, _backend(server) as backend:
        req = Request(prompt="same", options=SamplingOptions(n=3))
        a, other, b = backend.generate([req, Request(prompt="other"), req])
        assert len(server.posts) == 2
        assert a.completions == b.completions and len(a.completions) == 3 and other.error is None


def test_a_429_with_retry_after_pauses_every_request_not_just_its_own():
    with FakeOpenAI(faults=["429"], retry_after=0.6, delay=0.05) as server, \
            _backend(server, max_in_flight=4) as backend:
        results = backend.generate([Request(prompt=f"r{i}", options=SamplingOptions(seed=i)) for i in range(12)])
        assert all(r.error is None for r in results)
        limited = server.post_times[0]
        later = [t - limited for t in server.post_times[1:]]
        # Requests already on the wire (at most the three other slots) may land after the 429, however late a loaded
        # machine delivers them; nothing new is sent during the pause. Without the shared pause, the other slots
        # would send the remaining requests within about 0.2 s.
        assert sum(1 for dt in later if dt < 0.55) <= 3
        assert len(server.posts) == 13


def test_answers_received_before_the_caller_stops_are_kept(tmp_path):
    cache = Cache(tmp_path)
    reqs = [Request(prompt=f"s{i}", options=SamplingOptions(seed=i)) for i in range(20)]
    with FakeOpenAI(delay=0.02) as server, _backend(server, cache, max_in_flight=2) as backend:
        stream = backend.generate_iter(reqs)
        got = [next(stream) for _ in range(5)]
        stream.close()  # the caller gives up, e.g. on Ctrl-C
        assert len(got) == 5
        with _backend(server, cache) as again:
            again.generate([reqs[pos] for pos, _ in got])
            assert again.usage.as_dict()["backend_calls"] == 0


def test_auto_transport_is_builtin_for_plain_http_and_httpx_for_https_or_a_proxy(monkeypatch):
    import asyncio

    from codealign.llm.http import HttpxTransport, StreamTransport, make_transport

    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)

    async def build(url):
        transport = make_transport("auto", url, {}, 5.0, 4)
        await transport.aclose()
        return transport

    assert isinstance(asyncio.run(build("http://10.0.0.5:8000/v1")), StreamTransport)
    assert isinstance(asyncio.run(build("https://api.example.com/v1")), HttpxTransport)
    monkeypatch.setenv("http_proxy", "http://proxy.internal:3128")
    assert isinstance(asyncio.run(build("http://10.0.0.5:8000/v1")), HttpxTransport)
    assert isinstance(asyncio.run(build("http://127.0.0.1:8000/v1")), StreamTransport)
