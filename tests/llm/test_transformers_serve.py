"""The openai backend against a real `transformers serve` on 127.0.0.1, serving the tiny model.

`transformers serve` answers /v1/completions and /v1/chat/completions but ignores `n` (one choice per call), so this
also exercises the client's detection of servers that ignore `n`.
"""

import pytest

from codealign.cache import Cache
from codealign.errors import BackendError
from codealign.llm import ChatMessage, Request, SamplingOptions, load_backend
from tests.serving import transformers_serve

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def served_model(tiny_model_path, tmp_path_factory):
    with transformers_serve(tiny_model_path, tmp_path_factory.mktemp("serve"), ready_timeout=120) as base_url:
        yield base_url, str(tiny_model_path)


def test_completions_and_chat_against_transformers_serve(served_model, tmp_path):
    base_url, model = served_model
    cache = Cache(tmp_path)
    opts = SamplingOptions(max_tokens=8, temperature=0.0, n=2)
    reqs = [
        Request(prompt="def add(a, b):", options=opts),
        Request(messages=(ChatMessage(role="user", content="Write a function."),), options=opts),
    ]
    config = {"type": "openai", "model": model, "base_url": base_url, "max_in_flight": 4, "timeout": 60}
    with load_backend(config, cache) as backend:
        completion, chat = backend.generate(reqs)
        assert completion.error is None and chat.error is None, (completion.error, chat.error)
        assert [c.index for c in completion.completions] == [0, 1] and len(chat.completions) == 2
        assert all(c.finish_reason in ("length", "stop") for c in completion.completions + chat.completions)
        assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
        # The server sends one choice whatever `n` says; the client noticed and asked per sample.
        assert backend.honours_n is False
        calls = backend.usage.as_dict()["backend_calls"]
        assert calls >= 4
        # Greedy decoding on the server gives the text a local greedy call would give.
        from codealign.llm import load_backend as load

        with load({"type": "transformers", "model": model}) as local:
            (here,) = local.generate([Request(prompt="def add(a, b):", options=opts.model_copy(update={"n": 1}))])
        assert completion.completions[0].text == here.completions[0].text
    with load_backend(config, cache) as backend:
        again = backend.generate(reqs)
        assert backend.usage.as_dict()["backend_calls"] == 0
    assert [r.completions for r in again] == [completion.completions, chat.completions]


def test_a_model_the_server_does_not_serve_is_one_line(served_model):
    base_url, _ = served_model
    config = {"type": "openai", "model": "/no/such/model", "base_url": base_url, "max_in_flight": 2}
    with load_backend(config) as backend, pytest.raises(BackendError, match="rejects every request .*model"):
        backend.generate([Request(prompt=f"x{i}", options=SamplingOptions(max_tokens=2)) for i in range(4)])
