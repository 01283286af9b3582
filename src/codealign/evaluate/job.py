"""Evaluate a model: generate with any backend, execute each sample in the sandbox as soon as it exists, pass@k.

Generation runs in a thread and hands each answered request over at once; the sandbox executes whatever has
arrived while the model writes the rest, so execution time hides behind generation. Every request goes through the
backend's cache with a fixed seed, so a run killed at any point and started again asks the model only for what it
had not answered, and executes only what it had not executed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from codealign.config import StrictModel
from codealign.errors import ConfigError
from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.passk import benchmark_pass_at_k, pass_at_k_by_language
from codealign.sandbox.types import Outcome, Program, Status


class EvalSettings(StrictModel):
    """How samples are asked for and executed. Greedy by default: one sample at temperature 0."""

    mode: Literal["completion", "chat"] = "completion"
    n: int = Field(1, ge=1, description="samples per task")
    temperature: float = Field(0.0, ge=0.0, le=5.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="used only when temperature > 0")
    max_tokens: int = Field(512, ge=1)
    ks: tuple[int, ...] = (1, 10, 100)
    seed: int = Field(0, description="base seed; sample i of a task draws from a seed derived from it and i")
    timeout: float | None = Field(None, gt=0, description="seconds per sample; the benchmark's default when None")
    memory_mb: int = Field(4096, ge=16)
    limit: int | None = Field(None, ge=1, description="evaluate only the first `limit` tasks")


@dataclass
class SampleResult:
    """One sample: the model's raw text, the program made from it, and what the sandbox said."""

    task_id: str
    sample: int
    raw: str
    program: str
    outcome: str
    passed: bool
    error: str | None = None
    error_type: str | None = None
    finish_reason: str = "stop"
    duration: float = 0.0

    def row(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "sample": self.sample, "passed": self.passed, "outcome": self.outcome,
                "error_type": self.error_type, "error": self.error, "finish_reason": self.finish_reason,
                "duration": round(self.duration, 4), "raw": self.raw, "program": self.program}  # fmt: skip


@dataclass
class TaskStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    cached: int = 0
    error: str | None = None


@dataclass
class EvalResult:
    benchmark: dict[str, Any]
    settings: EvalSettings
    model: dict[str, Any]
    tasks: list[Task]
    samples: list[SampleResult] = field(default_factory=list)
    task_stats: dict[str, TaskStats] = field(default_factory=dict)
    pass_at_k: dict[str, float] = field(default_factory=dict)
    pass_at_k_by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    generated: int = 0
    from_cache: int = 0
    overlap: dict[str, Any] | None = None

    @property
    def statuses(self) -> Counter:
        return Counter(s.outcome for s in self.samples)

    def per_task(self) -> dict[str, tuple[int, int]]:
        """(samples executed, samples passed) per task; sandbox errors are not counted against a program."""
        counts: dict[str, list[int]] = {}
        for s in self.samples:
            if s.outcome != Status.SANDBOX_ERROR.value:
                nc = counts.setdefault(s.task_id, [0, 0])
                nc[0] += 1
                nc[1] += s.passed
        return {t: (n, c) for t, (n, c) in counts.items()}

    def failed_requests(self) -> dict[str, str]:
        return {t: s.error for t, s in self.task_stats.items() if s.error}

    def summary(self) -> dict[str, Any]:
        per_task = self.per_task()
        return {
            "benchmark": self.benchmark,
            "model": self.model,
            "settings": self.settings.model_dump(mode="json"),
            "pass_at_k": self.pass_at_k,
            **({"pass_at_k_by_language": self.pass_at_k_by_language} if self.pass_at_k_by_language else {}),
            "tasks": len(self.tasks),
            "tasks_scored": len(per_task),
            "samples": len(self.samples),
            "outcomes": dict(sorted(self.statuses.items())),
            "failed_requests": self.failed_requests(),
            "tokens": {
                "prompt": sum(s.prompt_tokens for s in self.task_stats.values()),
                "completion": sum(s.completion_tokens for s in self.task_stats.values()),
            },
            "samples_from_cache": self.from_cache,
            "samples_generated": self.generated,
            "seconds": round(self.seconds, 3),
            "overlap": self.overlap,
        }


def build_request(bench: Benchmark, task: Task, settings: EvalSettings) -> Any:
    from codealign.llm import ChatMessage, Request, SamplingOptions

    sampling = settings.temperature > 0
    options = SamplingOptions(
        n=settings.n, temperature=settings.temperature, top_p=settings.top_p if sampling else 1.0,
        max_tokens=settings.max_tokens, stop=bench.stops(task) if settings.mode == "completion" else (),
        seed=settings.seed,
    )  # fmt: skip
    if settings.mode == "chat":
        return Request(messages=(ChatMessage(role="user", content=bench.chat_prompt(task)),), options=options)
    return Request(prompt=bench.completion_prompt(task), options=options)


def check_mode(bench: Benchmark, mode: str) -> None:
    if mode == "chat" and not bench.chat:
        raise ConfigError(f"{bench.label} needs completion mode (a fill-in-the-middle model), not --mode chat")


_DONE = object()


def evaluate_model(
    bench: Benchmark,
    backend: Any,
    sandbox: Any,
    settings: EvalSettings,
    *,
    on_generated: Callable[[int], None] | None = None,
    on_executed: Callable[[SampleResult], None] | None = None,
) -> EvalResult:
    """Generate `settings.n` samples per task with `backend`, execute them in `sandbox` as they arrive, pass@k."""
    check_mode(bench, settings.mode)
    bench.bind_model(backend.config)
    tasks = bench.tasks()[: settings.limit] if settings.limit else bench.tasks()
    limits = bench.limits(settings.timeout, settings.memory_mb)
    requests = [build_request(bench, t, settings) for t in tasks]
    model = {"name": backend.config.model, "backend": backend.config.type, "revision": backend.config.revision}
    result = EvalResult(bench.info(), settings, model, tasks)
    started = time.monotonic()
    handoff: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def produce() -> None:
        try:
            for pos, answer in backend.generate_iter(requests):
                handoff.put((pos, answer))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            handoff.put(exc)
        finally:
            handoff.put(_DONE)

    thread = threading.Thread(target=produce, name="codealign-evaluate-generate", daemon=True)
    thread.start()
    finished = False
    while not finished:
        arrived = [handoff.get()]
        while True:
            try:
                arrived.append(handoff.get_nowait())
            except queue.Empty:
                break
        programs: list[Program] = []
        meta: dict[str, tuple[Task, Any, str]] = {}
        for item in arrived:
            if item is _DONE:
                finished = True
                continue
            if isinstance(item, BaseException):
                raise item
            pos, answer = item
            task = tasks[pos]
            stats = result.task_stats.setdefault(task.task_id, TaskStats())
            stats.prompt_tokens, stats.completion_tokens = answer.usage.prompt_tokens, answer.usage.completion_tokens
            stats.latency, stats.cached, stats.error = answer.latency, answer.cached, answer.error
            result.from_cache += answer.cached
            result.generated += len(answer.completions) - answer.cached
            for completion in answer.completions:
                if settings.mode == "chat":
                    code = bench.from_chat(task, completion.text)
                else:
                    code = bench.from_completion(task, completion.text)
                pid = f"{pos}:{completion.index}"
                meta[pid] = (task, completion, code)
                programs.append(bench.program(task, code, limits, pid))
            if on_generated is not None:
                on_generated(len(answer.completions))
        for outcome in sandbox.run(programs) if programs else ():
            task, completion, code = meta.pop(outcome.id)
            sample = _sample(task, completion, code, outcome)
            result.samples.append(sample)
            if on_executed is not None:
                on_executed(sample)
    thread.join(timeout=5)
    order = {t.task_id: i for i, t in enumerate(tasks)}
    result.samples.sort(key=lambda s: (order[s.task_id], s.sample))
    result.pass_at_k = benchmark_pass_at_k(result.per_task(), settings.ks)
    language_of = {t.task_id: t.language for t in tasks}
    result.pass_at_k_by_language = pass_at_k_by_language(result.per_task(), language_of, settings.ks)
    result.seconds = time.monotonic() - started
    return result


def _sample(task: Task, completion: Any, code: str, outcome: Outcome) -> SampleResult:
    return SampleResult(
        task_id=task.task_id, sample=completion.index, raw=completion.text, program=code,
        outcome=outcome.status.value, passed=outcome.passed, error=outcome.error, error_type=outcome.error_type,
        finish_reason=completion.finish_reason, duration=outcome.duration,
    )  # fmt: skip


def iter_rows(result: EvalResult) -> Iterator[dict[str, Any]]:
    for sample in result.samples:
        yield sample.row()
