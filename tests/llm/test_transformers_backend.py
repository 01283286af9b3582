"""The in-process transformers backend on the tiny model: both modes, n > 1, stop strings, seeds, cache."""

import pytest

from codealign.cache import Cache
from codealign.errors import BackendError
from codealign.llm import ChatMessage, Request, SamplingOptions, load_backend

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def backend(tiny_model_path):
    b = load_backend({"type": "transformers", "model": str(tiny_model_path), "batch_size": 4})
    yield b
    b.close()


def _opts(**kw):
    return SamplingOptions(**{"max_tokens": 12, "seed": 11, **kw})


def test_completion_and_chat_modes_give_n_samples(backend):
    chat = Request(messages=(ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")),
                   options=_opts(n=2))
    completion = Request(prompt="def add(a, b):", options=_opts(n=3))
    res_completion, res_chat = backend.generate([completion, chat])
    assert [c.index for c in res_completion.completions] == [0, 1, 2]
    assert len(res_chat.completions) == 2
    assert res_completion.error is None and res_chat.error is None
    # Different samples of one request draw from different seeds.
    assert len({c.text for c in res_completion.completions}) == 3
    assert res_completion.usage.prompt_tokens == len(backend.encode(completion))
    # The chat prompt is the template applied to the messages, ending with the assistant turn.
    text = backend.tokenizer.decode(backend.encode(chat))
    assert text.startswith("<|system|>\nBe brief.") and text.endswith("<|assistant|>\n")
    for c in res_completion.completions:
        assert c.finish_reason in ("length", "stop")


def test_same_seed_same_text_and_each_sample_is_reproducible_alone(backend):
    req = Request(prompt="import os\n", options=_opts(n=4, seed=5))
    first = backend.generate([req])[0]
    again = backend.generate([req])[0]
    assert [c.text for c in again.completions] == [c.text for c in first.completions]
    # Sample 3 decoded in a different batch, next to other requests, is still the same text.
    others = [Request(prompt="x" * k, options=_opts(seed=k)) for k in range(1, 4)]
    from codealign.llm import derive_seed

    alone = Request(prompt="import os\n", options=_opts(n=1, seed=derive_seed(5, 3)))
    mixed = backend.generate([*others, alone])[-1]
    assert mixed.completions[0].text == first.completions[3].text
    other_seed = backend.generate([Request(prompt="import os\n", options=_opts(n=1, seed=6))])[0]
    assert other_seed.completions[0].text != first.completions[0].text


def test_greedy_decoding_ignores_the_seed(backend):
    a = backend.generate([Request(prompt="class A:", options=_opts(temperature=0.0, seed=1))])[0]
    b = backend.generate([Request(prompt="class A:", options=_opts(temperature=0.0, seed=2))])[0]
    assert a.completions[0].text == b.completions[0].text


def test_stop_strings_cut_the_text_and_report_stop(backend):
    opts = _opts(max_tokens=30, seed=3)
    full = backend.generate([Request(prompt="def f():", options=opts)])[0].completions[0]
    assert full.finish_reason == "length" and len(full.text) > 8
    stop = full.text[5:8]
    cut = backend.generate([Request(prompt="def f():", options=opts.model_copy(update={"stop": (stop,)}))])[0]
    assert cut.completions[0].finish_reason == "stop"
    assert cut.completions[0].text == full.text[: full.text.find(stop)]
    assert cut.usage.completion_tokens < 30


def test_cached_samples_are_not_decoded_again(tiny_model_path, tmp_path):
    cache = Cache(tmp_path)
    reqs = [Request(prompt=f"def f{i}(x):", options=_opts(n=2, seed=i)) for i in range(3)]
    with load_backend({"type": "transformers", "model": str(tiny_model_path)}, cache) as b:
        first = b.generate(reqs)
    with load_backend({"type": "transformers", "model": str(tiny_model_path)}, cache) as b:
        second = b.generate(reqs)
        usage = b.usage.as_dict()
        assert usage["backend_calls"] == 0 and usage["cache_hits"] == 6
        assert getattr(b, "model", None) is None  # nothing to generate, so the weights were never loaded
    assert [r.completions for r in second] == [r.completions for r in first]


def test_missing_model_path_is_one_clear_line(tmp_path):
    b = load_backend({"type": "transformers", "model": str(tmp_path / "no-such-model")})
    with pytest.raises(BackendError, match="model path not found"):
        b.generate([Request(prompt="x")])
