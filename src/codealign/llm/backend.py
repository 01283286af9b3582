"""The Backend base class: the cache around every call, per-sample seeds, and the config that picks a backend.

A backend implements `_generate(jobs)`, yielding one JobResult per Job as each finishes. Everything else (looking up
cached samples, asking only for the missing ones, storing answers as they arrive, usage accounting) lives here, so a
new backend is one small file plus one registry line.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from codealign.cache import NullCache, cache_key
from codealign.config import StrictModel
from codealign.llm.base import Completion, Request, Result, Usage
from codealign.llm.usage import UsageMeter

NS = "llm"
PROMPT_NS = "llm_prompts"
KEY_VERSION = 1


class BackendConfig(StrictModel):
    """Which model to talk to and how. One block of a run config; unknown keys are errors."""

    type: str = Field("transformers", description="backend name: transformers, openai, vllm, replay, or a plugin")
    model: str = Field(..., description="local path or hub id (transformers, vllm), or the server's model name")
    revision: str | None = Field(None, description="model revision; part of the cache key")
    mode: Literal["completion", "chat"] = Field("completion", description="how methods phrase their requests")
    base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key, if any")
    max_in_flight: int = Field(64, ge=1, description="openai: concurrent HTTP requests")
    timeout: float = Field(600.0, gt=0, description="openai: seconds per HTTP request, at most")
    first_byte_timeout: float | None = Field(
        60.0, gt=0, description="openai: fail a request when the server has sent nothing at all for this long "
        "(a stuck or dead server); a slow one that is streaming other answers keeps it waiting. None: off"
    )
    stream: bool = Field(True, description="openai: ask for streamed answers, so a stuck server is told from a slow one")
    max_retries: int = Field(6, ge=0, description="openai: retries on 429, 5xx and connection errors")
    http_client: Literal["auto", "builtin", "httpx"] = Field(
        "auto", description="openai: builtin (lean HTTP/1.1) for http://, httpx for https:// when auto"
    )
    retry_backoff: float = Field(1.0, gt=0, description="openai: first backoff in seconds; doubles per retry")
    batch_size: int = Field(16, ge=1, description="transformers: sequences decoded together")
    device: str = Field("auto", description="transformers: cpu, cuda, cuda:1, or auto")
    dtype: str = Field("auto", description="transformers/vllm: float32, bfloat16, float16, or auto")
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs per model")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="vllm")
    max_model_len: int | None = Field(None, ge=1, description="vllm: context length override")
    trust_remote_code: bool = False

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:8000/v1")
        return value

    def model_key(self) -> dict[str, Any]:
        return {"model": self.model, "revision": self.revision}


def derive_seed(seed: int | None, index: int) -> int | None:
    """The seed of sample `index` of a request seeded with `seed`: depends on nothing else, so each sample is
    reproducible on its own (a resumed run that asks only for samples 7-9 gets the same texts)."""
    if seed is None:
        return None
    if index == 0:
        return seed
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**31 - 1)


def request_input(request: Request) -> dict[str, Any]:
    if request.prompt is not None:
        return {"mode": "completion", "prompt": request.prompt}
    return {"mode": "chat", "messages": [m.model_dump() for m in request.messages or ()]}


def sample_key(model_key: dict[str, Any], request: Request, index: int) -> str:
    """Cache key of one sample: model and revision, mode, prompt or messages, sampling options except n, index."""
    options = request.options.model_dump(mode="json", exclude={"n"})
    return cache_key({"v": KEY_VERSION, **model_key, **request_input(request), "options": options, "sample": index})


@dataclass
class Job:
    """The samples of one request that the cache did not have; `seeds[k]` is the seed of `samples[k]`."""

    pos: int
    request: Request
    samples: tuple[int, ...]
    seeds: tuple[int | None, ...]


@dataclass
class JobResult:
    """What a backend gives back for a Job: completions by sample index, token counts, latency, error."""

    job: Job
    completions: dict[int, Completion] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: dict[int, int] = field(default_factory=dict)
    latency: float = 0.0
    calls: int = 1
    error: str | None = None


class Backend(ABC):
    """Cache-first generation. Subclasses implement `_generate` and, for heavy libraries, `load`."""

    name: ClassVar[str] = "backend"

    def __init__(self, config: BackendConfig, cache: Any = None) -> None:
        self.config = config
        self.cache = cache if cache is not None else NullCache()
        self.usage = UsageMeter()
        self._loaded = False

    @property
    def model_id(self) -> str:
        return self.config.model if self.config.revision is None else f"{self.config.model}@{self.config.revision}"

    def load(self) -> None:  # noqa: B027 - an optional hook
        """Import heavy libraries and load weights or open connections. Called once, on the first cache miss."""

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Free what `load` took."""

    def ensure_loaded(self) -> None:
        """Load now (weights, a server check) instead of on the first cache miss."""
        if not self._loaded:
            self.load()
            self._loaded = True

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @abstractmethod
    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        """Answer every job, yielding each JobResult as soon as it is done (any order)."""

    def generate(self, requests: Iterable[Request]) -> list[Result]:
        """Results in request order. A request that fails after retries has `error` set; it does not raise."""
        requests = list(requests)
        results: list[Result | None] = [None] * len(requests)
        for pos, result in self.generate_iter(requests):
            results[pos] = result
        return results  # type: ignore[return-value]

    def generate_iter(self, requests: Iterable[Request]) -> Iterator[tuple[int, Result]]:
        """(position, result) pairs as each request is answered: cached ones first, then in completion order."""
        requests = list(requests)
        model_key = self.config.model_key()
        keys = [[sample_key(model_key, r, i) for i in range(r.options.n)] for r in requests]
        found = self.cache.get_many(NS, [k for ks in keys for k in ks])
        self.usage.requests += len(requests)
        have: dict[int, dict[int, dict[str, Any]]] = {}
        jobs: list[Job] = []
        # The same request twice in one call is asked once: identical questions get identical answers, as they
        # would from the cache on a rerun.
        first: dict[tuple[str, ...], int] = {}
        twins: dict[int, list[int]] = {}
        for pos, request in enumerate(requests):
            cached = {i: found[k] for i, k in enumerate(keys[pos]) if k in found}
            self.usage.cache_hits += len(cached)
            missing = tuple(i for i in range(request.options.n) if i not in cached)
            if not missing:
                yield pos, _assemble(request, cached, len(cached), 0.0, None)
                continue
            same = first.setdefault(tuple(keys[pos]), pos)
            if same != pos:
                twins.setdefault(same, []).append(pos)
                continue
            have[pos] = cached
            seeds = tuple(derive_seed(request.options.seed, i) for i in missing)
            jobs.append(Job(pos, request, missing, seeds))
        if not jobs:
            return
        self.ensure_loaded()
        pending: list[tuple[str, Any]] = []
        prompts: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            for res in self._generate(jobs):
                job = res.job
                request = requests[job.pos]
                phash = cache_key(request_input(request))
                fresh: dict[int, dict[str, Any]] = {}
                for i, completion in res.completions.items():
                    value = {
                        "text": completion.text,
                        "finish_reason": completion.finish_reason,
                        "prompt_tokens": res.prompt_tokens,
                        "completion_tokens": res.completion_tokens.get(i, 0),
                        "model": self.model_id,
                        "sample": i,
                        "prompt": phash,
                    }
                    fresh[i] = value
                    pending.append((keys[job.pos][i], value))
                if fresh:
                    prompts.setdefault(phash, request_input(request))
                self.usage.record(res.calls, res.prompt_tokens, sum(res.completion_tokens.values()), res.latency,
                                  len(fresh), res.error)
                # Stored before the caller sees it: a kill -9 at any later moment never asks for it again. A WAL
                # commit without fsync costs tens of microseconds, far below any model call.
                self._flush(pending, prompts)
                samples = {**have.pop(job.pos), **fresh}
                result = _assemble(request, samples, request.options.n - len(job.samples), res.latency, res.error)
                yield job.pos, result
                for twin in twins.pop(job.pos, ()):
                    yield twin, result.model_copy(deep=True)
        finally:
            self._flush(pending, prompts)
            self.usage.busy_seconds += time.perf_counter() - started

    def _flush(self, pending: list[tuple[str, Any]], prompts: dict[str, Any]) -> None:
        if prompts:
            self.cache.put_many(PROMPT_NS, list(prompts.items()))
            prompts.clear()
        if pending:
            self.cache.put_many(NS, pending)
            pending.clear()


def _assemble(request: Request, samples: dict[int, dict[str, Any]], cached: int, latency: float,
              error: str | None) -> Result:
    completions = [
        Completion(text=samples[i]["text"], finish_reason=samples[i]["finish_reason"], index=i) for i in sorted(samples)
    ]
    prompt_tokens = max((s.get("prompt_tokens", 0) for s in samples.values()), default=0)
    usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=sum(s.get("completion_tokens", 0) for s in samples.values()))
    if error is None and len(completions) < request.options.n:
        error = f"{request.options.n - len(completions)} of {request.options.n} samples missing"
    return Result(completions=completions, usage=usage, latency=latency, cached=cached, error=error)
