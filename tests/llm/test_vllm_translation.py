"""How requests become vLLM prompts and sampling parameters, and vLLM outputs become results (no vLLM needed)."""

import importlib.util
from types import SimpleNamespace

import pytest

from codealign.errors import MissingDependency
from codealign.llm import Request, SamplingOptions, derive_seed, load_backend
from codealign.llm.backend import Job
from codealign.llm.vllm_backend import plan_calls, read_output


def _job(request, samples):
    return Job(0, request, tuple(samples), tuple(derive_seed(request.options.seed, i) for i in samples))


def test_seeded_requests_become_one_prompt_per_missing_sample_with_its_own_seed():
    req = Request(prompt="p", options=SamplingOptions(n=5, seed=3, stop=("## Example",), max_tokens=64))
    calls = plan_calls([_job(req, [2, 4])])
    assert [c.samples for c in calls] == [(2,), (4,)]
    assert [c.params["seed"] for c in calls] == [derive_seed(3, 2), derive_seed(3, 4)]
    assert all(c.params["n"] == 1 and c.params["stop"] == ["## Example"] and c.params["max_tokens"] == 64
               for c in calls)


def test_unseeded_requests_ask_for_all_missing_samples_at_once():
    req = Request(prompt="p", options=SamplingOptions(n=4, temperature=0.2, top_p=0.9))
    (call,) = plan_calls([_job(req, [1, 2, 3])])
    assert call.samples == (1, 2, 3)
    assert call.params == {"temperature": 0.2, "top_p": 0.9, "max_tokens": 1536, "stop": None, "n": 3, "seed": None}


def test_outputs_map_back_to_sample_indices_and_finish_reasons():
    req = Request(prompt="p", options=SamplingOptions(n=4))
    (call,) = plan_calls([_job(req, [1, 3])])
    output = SimpleNamespace(
        prompt_token_ids=[1, 2, 3],
        outputs=[
            SimpleNamespace(index=1, text="b", token_ids=[7], finish_reason="length"),
            SimpleNamespace(index=0, text="a", token_ids=[5, 6], finish_reason="stop"),
        ],
    )
    samples, prompt_tokens = read_output(call, output)
    assert prompt_tokens == 3
    assert [(i, c.text, c.finish_reason, c.index, t) for i, c, t in samples] == [
        (1, "a", "stop", 1, 2),
        (3, "b", "length", 3, 1),
    ]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_names_the_extra_to_install():
    with pytest.raises(MissingDependency, match=r"pip install 'codealign\[vllm\]'"):
        load_backend({"type": "vllm", "model": "m"})
