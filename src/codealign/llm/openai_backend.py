"""Any OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, Ollama, `transformers serve`, hosted APIs).

Requests run on an asyncio loop in a background thread with a bounded number in flight. 429 (honouring Retry-After),
408, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter; a request that still
fails is returned with `Result.error` set. A wrong URL, a refused key or an unknown model stop the run with one line.

A seeded request is sent as one HTTP call per sample, each with that sample's own seed, because servers derive all n
samples of a call from one seed; that is what makes sample i reproducible on its own. An unseeded request asks for
all its missing samples in one call, and falls back to one call per sample on servers that ignore `n`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from codealign.errors import BackendError, ConfigError
from codealign.llm.backend import Backend, BackendConfig, Job, JobResult
from codealign.llm.base import Completion, Request

_RETRY_STATUS = {408, 409, 425, 429}
_MAX_SLEEP = 600.0
_REJECTED_BEFORE_FATAL = 3


class _CallFailed(Exception):
    """One HTTP call failed for good (after retries, or with a non-retryable status); recorded on the result."""


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` before the earliest stop string; servers usually do this, some do not."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:200]
    return str(err)[:200]


def build_payload(config: BackendConfig, request: Request, n: int, seed: int | None,
                  stream: bool = False) -> tuple[str, dict[str, Any]]:
    """The endpoint path and JSON body for `n` samples of `request` (streamed as server-sent events if asked)."""
    opts = request.options
    payload: dict[str, Any] = {
        "model": config.model,
        "max_tokens": opts.max_tokens,
        "temperature": opts.temperature,
        "top_p": opts.top_p,
    }
    if n != 1:
        payload["n"] = n
    if opts.stop:
        payload["stop"] = list(opts.stop)
    if seed is not None:
        payload["seed"] = seed
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    if request.prompt is not None:
        payload["prompt"] = request.prompt
        return "/completions", payload
    payload["messages"] = [m.model_dump() for m in request.messages or ()]
    return "/chat/completions", payload


def parse_events(body: bytes, chat: bool) -> dict[str, Any]:
    """A streamed answer (server-sent events) assembled into the body a whole answer would have had."""
    slots: dict[int, dict[str, Any]] = {}
    usage: dict[str, Any] = {}
    for line in body.split(b"\n"):
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        event = json.loads(data)
        if not isinstance(event, dict):
            continue
        if event.get("error"):
            err = event["error"]
            raise ValueError(str(err.get("message", err) if isinstance(err, dict) else err)[:200])
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            slot = slots.setdefault(int(choice.get("index", 0)), {"parts": [], "finish_reason": None})
            piece = choice.get("text") if "text" in choice else (choice.get("delta") or {}).get("content")
            if piece:
                slot["parts"].append(piece)
            slot["finish_reason"] = choice.get("finish_reason") or slot["finish_reason"]
    choices = []
    for index, slot in sorted(slots.items()):
        if slot["finish_reason"] is None:
            raise ValueError("the answer stream ended before the answer did")
        text = "".join(slot["parts"])
        choice = {"index": index, "finish_reason": slot["finish_reason"]}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
        choices.append(choice)
    return {"choices": choices, "usage": usage}


def parse_choices(body: dict[str, Any], request: Request) -> tuple[list[tuple[Completion, int]], int]:
    """(completion, completion tokens) per choice in choice order, and the prompt tokens, from a response body."""
    choices = sorted(body.get("choices") or [], key=lambda c: c.get("index", 0))
    usage = body.get("usage") or {}
    out_tokens = int(usage.get("completion_tokens") or 0)
    per_choice = out_tokens // len(choices) if choices else 0
    parsed = []
    for choice in choices:
        if request.prompt is not None:
            text = choice.get("text") or ""
        else:
            text = (choice.get("message") or {}).get("content") or ""
        text, stopped = cut_at_stop(text, request.options.stop)
        reason = "length" if choice.get("finish_reason") == "length" and not stopped else "stop"
        parsed.append((Completion(text=text, finish_reason=reason), per_choice))
    return parsed, int(usage.get("prompt_tokens") or 0)


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, config: BackendConfig, cache: Any = None) -> None:
        super().__init__(config, cache)
        if not config.base_url:
            raise ConfigError("backend 'openai' needs base_url, e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1")
        self.base_url = config.base_url.rstrip("/")
        self.honours_n: bool | None = None  # learnt from the first call that asks for n > 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: Any = None
        self.served: list[str] = []
        self._pause_until = 0.0  # monotonic time before which no request is sent (after a 429 with Retry-After)
        self._accepted = 0  # calls answered with choices, over this backend's life
        self._rejected = 0  # calls refused with a non-retryable 4xx
        self._stream = config.stream  # off once the server refuses streamed answers

    # --- lifecycle -------------------------------------------------------------------------------------------

    def load(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="codealign-openai", daemon=True)
        self._thread.start()
        try:
            self._sync(self._open())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Cancel what is in flight, close every connection and stop the loop, in that order, so nothing is left
        pending (a Ctrl-C during requests ends without asyncio's warnings)."""
        if self._loop is None:
            return
        loop, http = self._loop, self._http

        async def shutdown() -> None:
            for _ in range(3):  # a task may start another while it is cancelled; a few rounds settle it
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=5)
            if http is not None:
                await http.aclose()
            await loop.shutdown_asyncgens()

        # Closing a broken connection pool must not mask the error that got us here.
        with contextlib.suppress(BaseException):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=15)
        self._http = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if not loop.is_running():
            loop.close()
        self._loop = None
        self._loaded = False

    def _sync(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.config.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def _open(self) -> None:
        from codealign.llm.http import make_transport

        c = self.config
        self._http = make_transport(c.http_client, self.base_url, self._headers(), c.timeout, c.max_in_flight,
                                    c.first_byte_timeout)
        await self._check_server()

    async def _check_server(self) -> None:
        """Fail at once, in one line, on a wrong URL or a refused key; remember which models the server lists."""
        from codealign.llm.http import TransportError

        url = f"{self.base_url}/models"
        try:
            resp = await self._http.request("GET", "/models", timeout=min(self.config.timeout, 30.0))
        except TransportError as exc:
            raise BackendError(
                f"cannot reach {self.base_url} ({exc.kind}): is the server running, and is base_url right?"
            ) from None
        if resp.status in (401, 403):
            raise BackendError(f"{self.base_url} refused the request (HTTP {resp.status}): "
                               f"set ${self.config.api_key_env} to a valid API key")
        if resp.status == 404:
            raise BackendError(f"{url} not found (HTTP 404): check base_url (OpenAI-compatible servers "
                               "usually answer under /v1)")
        if resp.status != 200:
            return  # some servers have no usable /models; the first real call will tell
        try:
            self.served = [str(m.get("id")) for m in resp.json().get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            return

    def _model_missing(self, url: str, resp: Any) -> BackendError:
        # The served list is only a hint: servers such as `transformers serve` load any model on demand and list
        # only some, so a model missing from /models is not an error until a call says so.
        shown = ", ".join(self.served[:10]) + (" ..." if len(self.served) > 10 else "")
        hint = f"; {self.base_url} serves: {shown}" if shown else "; check `model` and `base_url`"
        return BackendError(f"model {self.config.model!r} not found at {url} (HTTP 404: {_server_message(resp)}){hint}")

    # --- generation ------------------------------------------------------------------------------------------

    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        done = object()
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()

        async def main() -> None:
            try:
                await self._run(jobs, results.put)
            except BaseException as exc:  # handed to the consuming thread, which re-raises
                results.put(exc)
            finally:
                results.put(done)

        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(main(), self._loop)
        try:
            while True:
                item = results.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not future.done():
                future.cancel()

    async def _run(self, jobs: list[Job], put: Callable[[JobResult], None]) -> None:
        todo = iter(jobs)

        async def worker() -> None:
            for job in todo:
                put(await self._job(job))

        tasks = [asyncio.ensure_future(worker()) for _ in range(min(len(jobs), self.config.max_in_flight))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _job(self, job: Job) -> JobResult:
        started = time.perf_counter()
        res = JobResult(job, calls=0)
        request = job.request
        seeded = request.options.seed is not None
        if seeded or len(job.samples) == 1 or self.honours_n is False:
            groups = [((i,), seed) for i, seed in zip(job.samples, job.seeds, strict=True)]
        else:
            groups = [(job.samples, None)]
        outcomes = await asyncio.gather(*(self._call(request, g, s) for g, s in groups), return_exceptions=True)
        retry: list[int] = []
        for (group, _), outcome in zip(groups, outcomes, strict=True):
            res.calls += 1
            if isinstance(outcome, _CallFailed):
                res.error = res.error or str(outcome)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            choices, prompt_tokens = outcome
            res.prompt_tokens = max(res.prompt_tokens, prompt_tokens)
            if len(group) > 1:
                self.honours_n = len(choices) >= len(group)
            for i, (completion, tokens) in zip(group, choices, strict=False):
                res.completions[i] = completion.model_copy(update={"index": i})
                res.completion_tokens[i] = tokens
            if len(group) == 1 and not choices:
                res.error = res.error or "the server returned no choices"
            elif len(group) > 1:
                retry.extend(group[len(choices):])  # only unseeded groups have more than one sample
        if retry:
            # The server ignored `n`: ask for the rest one sample per call.
            more = await asyncio.gather(*(self._call(request, (i,), None) for i in retry), return_exceptions=True)
            for i, outcome in zip(retry, more, strict=True):
                res.calls += 1
                if isinstance(outcome, _CallFailed):
                    res.error = res.error or str(outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
                elif outcome[0]:
                    completion, tokens = outcome[0][0]
                    res.completions[i] = completion.model_copy(update={"index": i})
                    res.completion_tokens[i] = tokens
                else:
                    res.error = res.error or "the server returned no choices"
        res.latency = time.perf_counter() - started
        return res

    async def _call(self, request: Request, group: tuple[int, ...], seed: int | None
                    ) -> tuple[list[tuple[Completion, int]], int]:
        body = await self._post(request, len(group), seed)
        return parse_choices(body, request)

    async def _post(self, request: Request, n: int, seed: int | None) -> dict[str, Any]:
        from codealign.llm.http import TransportError

        attempt = 0
        while True:
            stream = self._stream
            path, payload = build_payload(self.config, request, n, seed, stream)
            url = self.base_url + path
            wait: float | None = None
            try:
                pause = self._pause_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                resp = await self._http.request("POST", path, payload)
            except TransportError as exc:
                if exc.kind.startswith("no answer") and self._accepted == 0:
                    raise BackendError(
                        f"{self.base_url} answered nothing within {self.config.first_byte_timeout:g} s (it "
                        f"{'lists its models' if self.served else 'accepts connections'} but is stuck, overloaded "
                        "or still loading); check the server, or raise backend.first_byte_timeout for one that is "
                        "only slow to start"
                    ) from None
                if exc.kind == "timeout":
                    problem = f"no answer within {self.config.timeout:g}s"
                elif exc.kind.startswith("connect failed"):
                    problem = f"cannot reach {self.base_url} ({exc.kind})"
                else:
                    problem = exc.kind
            else:
                status = resp.status
                if status == 200:
                    body = self._body(resp, stream, request.prompt is None)
                    if isinstance(body, dict) and "choices" in body:
                        self._accepted += 1
                        return body
                    problem = body if isinstance(body, str) else "the server answered 200 without choices"
                elif status in (401, 403):
                    raise BackendError(f"{self.base_url} refused the request (HTTP {status}): "
                                       f"set ${self.config.api_key_env} to a valid API key")
                elif status == 404:
                    raise self._model_missing(url, resp)
                elif status in _RETRY_STATUS or status >= 500:
                    problem = f"HTTP {status}: {_server_message(resp)}"
                    wait = _retry_after(resp.headers.get("retry-after"))
                    if status == 429 and wait is not None:
                        # A rate limit holds for every request, not just this one: pause them all.
                        self._pause_until = max(self._pause_until, time.monotonic() + min(wait, _MAX_SLEEP))
                elif stream and (self._accepted == 0 or not self._stream):
                    # Some servers refuse `stream` or `stream_options`: ask them for whole answers from now on
                    # (or, when another request already learnt that, ask this one again that way).
                    self._stream = False
                    self._http.watchdog.first_byte = None
                    continue
                else:
                    problem = f"HTTP {status}: {_server_message(resp)}"
                    self._rejected += 1
                    if self._accepted == 0 and self._rejected >= _REJECTED_BEFORE_FATAL:
                        # Nothing has ever been accepted: a wrong model or option, not a bad prompt.
                        raise BackendError(f"{self.base_url} rejects every request ({problem}): "
                                           "check `model` and the sampling options")
                    raise _CallFailed(problem)
            attempt += 1
            if attempt > self.config.max_retries:
                raise _CallFailed(f"{problem} (gave up after {attempt} attempts)")
            if wait is None:
                wait = self.config.retry_backoff * 2 ** (attempt - 1) * (0.5 + random.random())
            await asyncio.sleep(min(wait, _MAX_SLEEP))

    def _body(self, resp: Any, stream: bool, chat: bool) -> dict[str, Any] | str | None:
        """The answer as a dict, or a string saying what was wrong with it."""
        if resp.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                return parse_events(resp.body, chat)
            except ValueError as exc:
                return f"the streamed answer is broken: {exc}"
        if stream and self._stream:
            # The server ignores `stream` and sends whole answers, so silence says nothing about it being stuck.
            self._stream = False
            self._http.watchdog.first_byte = None
        try:
            return resp.json()
        except ValueError:
            return None
