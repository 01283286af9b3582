"""In-process vLLM offline generation (extra `vllm`): large batches, tensor parallelism, the same requests and results.

The translation between our jobs and vLLM's prompts, sampling parameters and outputs is plain data (`plan_calls`,
`read_output`), so it is tested without vLLM installed; `VLLMBackend` only adds loading and the `generate` call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from codealign.errors import BackendError
from codealign.llm.backend import Backend, Job, JobResult
from codealign.llm.base import Completion

CHUNK = 1024  # prompts per vLLM call: large enough to keep the GPU busy, small enough that a crash loses little


@dataclass
class VLLMCall:
    """One vLLM prompt: which job and samples it answers, and keyword arguments for SamplingParams."""

    job: int
    samples: tuple[int, ...]
    params: dict[str, Any]


def plan_calls(jobs: list[Job]) -> list[VLLMCall]:
    """Seeded requests become one prompt per sample with that sample's seed; unseeded ones one prompt with n."""
    calls = []
    for j, job in enumerate(jobs):
        opts = job.request.options
        base = {
            "temperature": opts.temperature,
            "top_p": opts.top_p,
            "max_tokens": opts.max_tokens,
            "stop": list(opts.stop) or None,
        }
        if opts.seed is not None or len(job.samples) == 1:
            for sample, seed in zip(job.samples, job.seeds, strict=True):
                calls.append(VLLMCall(j, (sample,), {**base, "n": 1, "seed": seed}))
        else:
            calls.append(VLLMCall(j, job.samples, {**base, "n": len(job.samples), "seed": None}))
    return calls


def read_output(call: VLLMCall, output: Any) -> tuple[list[tuple[int, Completion, int]], int]:
    """(sample index, completion, completion tokens) per sample of a vLLM RequestOutput, and its prompt tokens."""
    samples = []
    for sample, out in zip(call.samples, sorted(output.outputs, key=lambda o: o.index), strict=False):
        reason = "length" if out.finish_reason == "length" else "stop"
        samples.append((sample, Completion(text=out.text, finish_reason=reason, index=sample), len(out.token_ids)))
    return samples, len(output.prompt_token_ids or ())


class VLLMBackend(Backend):
    name = "vllm"

    def load(self) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            from codealign.errors import MissingDependency

            raise MissingDependency("vllm", "vllm", purpose="backend 'vllm'") from exc
        c = self.config
        kwargs: dict[str, Any] = {
            "model": c.model,
            "revision": c.revision,
            "tensor_parallel_size": c.tensor_parallel_size,
            "dtype": c.dtype,
            "gpu_memory_utilization": c.gpu_memory_utilization,
            "trust_remote_code": c.trust_remote_code,
        }
        if c.max_model_len is not None:
            kwargs["max_model_len"] = c.max_model_len
        try:
            self.llm = LLM(**kwargs)
        except (OSError, ValueError) as exc:
            raise BackendError(f"vllm cannot load model {c.model!r}: {str(exc).strip().splitlines()[0]}") from None
        self._params = SamplingParams
        self.tokenizer = self.llm.get_tokenizer()

    def close(self) -> None:
        if getattr(self, "llm", None) is not None:
            self.llm = None
            import gc

            gc.collect()
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except ImportError:
                pass
        self._loaded = False

    def prompt(self, job: Job) -> dict[str, Any]:
        request = job.request
        if request.prompt is not None:
            return {"prompt": request.prompt}
        messages = [m.model_dump() for m in request.messages or ()]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # The template already holds any BOS token; tokenizing it again must not add another.
        return {"prompt_token_ids": self.tokenizer(text, add_special_tokens=False)["input_ids"]}

    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        calls = plan_calls(jobs)
        results = [JobResult(job, calls=0) for job in jobs]
        left = [len(job.samples) for job in jobs]
        prompts = [self.prompt(job) for job in jobs]
        for start in range(0, len(calls), CHUNK):
            chunk = calls[start : start + CHUNK]
            began = time.perf_counter()
            outputs = self.llm.generate(
                [prompts[c.job] for c in chunk], [self._params(**c.params) for c in chunk], use_tqdm=False
            )
            spent = time.perf_counter() - began
            finished = []
            for call, output in zip(chunk, outputs, strict=True):
                res = results[call.job]
                samples, res.prompt_tokens = read_output(call, output)
                for sample, completion, tokens in samples:
                    res.completions[sample] = completion
                    res.completion_tokens[sample] = tokens
                res.calls += 1
                res.latency = spent
                left[call.job] -= len(call.samples)
                if left[call.job] == 0:
                    finished.append(res)
            yield from finished
