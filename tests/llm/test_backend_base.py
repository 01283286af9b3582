"""The Backend base class, through a small backend registered like a third-party plugin."""

from codealign.cache import Cache
from codealign.llm import Backend, Completion, JobResult, Request, SamplingOptions, derive_seed, load_backend
from codealign.registry import BACKENDS


class CountingBackend(Backend):
    """Answers "<prompt>|<seed>" and remembers every (prompt, sample, seed) it was asked for."""

    asked: list = []

    def _generate(self, jobs):
        for job in jobs:
            res = JobResult(job)
            for sample, seed in zip(job.samples, job.seeds, strict=True):
                CountingBackend.asked.append((job.request.prompt, sample, seed))
                res.completions[sample] = Completion(text=f"{job.request.prompt}|{seed}", index=sample)
                res.completion_tokens[sample] = 1
            yield res


def _load(cache, model="m"):
    BACKENDS.register("counting", f"{__name__}:CountingBackend")
    try:
        return load_backend({"type": "counting", "model": model}, cache)
    finally:
        BACKENDS.unregister("counting")


def test_only_missing_samples_are_asked_with_their_own_seeds(tmp_path):
    CountingBackend.asked = []
    cache = Cache(tmp_path)
    _load(cache).generate([Request(prompt="p", options=SamplingOptions(n=3, seed=4))])
    assert CountingBackend.asked == [("p", i, derive_seed(4, i)) for i in range(3)]
    CountingBackend.asked = []
    (res,) = _load(cache).generate([Request(prompt="p", options=SamplingOptions(n=5, seed=4))])
    assert CountingBackend.asked == [("p", 3, derive_seed(4, 3)), ("p", 4, derive_seed(4, 4))]
    assert [c.text for c in res.completions] == [f"p|{derive_seed(4, i)}" for i in range(5)]
    assert res.cached == 3 and res.usage.completion_tokens == 5


def test_everything_in_the_key_separates_answers(tmp_path):
    cache = Cache(tmp_path)
    base = Request(prompt="p", options=SamplingOptions(seed=1))
    variants = [
        base.model_copy(update={"options": SamplingOptions(seed=2)}),
        base.model_copy(update={"options": SamplingOptions(seed=1, temperature=0.2)}),
        base.model_copy(update={"options": SamplingOptions(seed=1, stop=("x",))}),
        base.model_copy(update={"prompt": "q"}),
    ]
    _load(cache).generate([base])
    CountingBackend.asked = []
    _load(cache).generate(variants)
    assert len(CountingBackend.asked) == len(variants)
    CountingBackend.asked = []
    _load(cache, model="other-model").generate([base])
    assert len(CountingBackend.asked) == 1
    # n is not part of the key: the same request with n=3 reuses sample 0 and asks for 1 and 2.
    CountingBackend.asked = []
    _load(cache).generate([base.model_copy(update={"options": SamplingOptions(seed=1, n=3)})])
    assert [sample for _, sample, _ in CountingBackend.asked] == [1, 2]


def test_seed_derivation_keeps_sample_zero_and_spreads_the_rest():
    assert derive_seed(None, 3) is None
    assert derive_seed(42, 0) == 42
    seeds = {derive_seed(42, i) for i in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**31 for s in seeds)
