"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: deterministic answers and scripted faults.

It speaks real HTTP/1.1 over a socket (keep-alive, Content-Length), so the client under test runs unchanged. Each
sample's text is a hash of (prompt, seed, choice index), so a seeded request always gets the same text. `faults` is a
list of actions consumed one per POST: "ok", "429" (with Retry-After), "500", "drop" (close without answering),
"slow" (answer after `slow_delay` seconds), "hang" (never answer). `responder(request, choice)` picks the text
instead, when given. A request with `"stream": true` is answered with server-sent events, one per `chunk_chars`
characters `chunk_delay` seconds apart, unless `streams` is "ignore" (answer whole, as some servers do) or "refuse"
(HTTP 400, as others do).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from typing import Any


def expected_text(prompt: str, seed: int | None, choice: int = 0) -> str:
    return "ans-" + hashlib.sha256(f"{prompt}|{seed}|{choice}".encode()).hexdigest()[:12]


class FakeOpenAI:
    def __init__(
        self,
        model: str = "fake-model",
        delay: float = 0.0,
        ignore_n: bool = False,
        faults: list[str] | None = None,
        retry_after: float = 0.3,
        slow_delay: float = 2.0,
        suffix: str = "",
        framing: str = "length",
        require_key: str | None = None,
        responder: Any = None,
        streams: str = "yes",
        chunk_chars: int = 4,
        chunk_delay: float = 0.0,
    ) -> None:
        self.model = model
        self.delay = delay
        self.ignore_n = ignore_n
        self.faults = list(faults or [])
        self.retry_after = retry_after
        self.slow_delay = slow_delay
        self.suffix = suffix  # appended to every text, e.g. to test client-side stop cutting
        self.require_key = require_key  # answer 401 unless "Authorization: Bearer <key>" comes with the request
        self.responder = responder  # (request body, choice index) -> text, in place of the hash text
        self.framing = framing  # "length", "chunked", or "close" (no length; the body ends when the socket closes)
        self.streams = streams
        self.chunk_chars = chunk_chars
        self.chunk_delay = chunk_delay
        self.posts: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.post_times: list[float] = []
        self.lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result()
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        async def stop() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                length = 0
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                    if name.strip().lower() == "authorization":
                        self.auth.append(value.strip())
                body = await reader.readexactly(length) if length else b""
                if self.require_key and (not self.auth or self.auth[-1] != f"Bearer {self.require_key}"):
                    answer = (401, {}, {"error": {"message": "Incorrect API key provided"}})
                else:
                    answer = await self._answer(method, path, body)
                self.auth.clear()
                if answer is None:
                    writer.transport.abort()
                    return
                status, headers, payload = answer
                if isinstance(payload, _Events):
                    await self._send_events(writer, payload)
                    continue
                raw = json.dumps(payload).encode()
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                if self.framing == "chunked":
                    half = len(raw) // 2
                    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (raw[:half], raw[half:]) if c)
                    writer.write(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
                elif self.framing == "close":
                    writer.write(head.encode() + b"Connection: close\r\n\r\n" + raw)
                    await writer.drain()
                    return
                else:
                    writer.write(head.encode() + f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _send_events(self, writer: asyncio.StreamWriter, events: _Events) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for event in [*events.items, "[DONE]"]:
            data = (f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n").encode()
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _events(self, chat: bool, choices: list[dict[str, Any]], usage: dict[str, Any]) -> _Events:
        items: list[Any] = []
        for choice in choices:
            text = choice["message"]["content"] if chat else choice["text"]
            pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)] or [""]
            for k, piece in enumerate(pieces):
                last = k == len(pieces) - 1
                item = {"index": choice["index"], "finish_reason": choice["finish_reason"] if last else None}
                item.update({"delta": {"content": piece}} if chat else {"text": piece})
                items.append({"choices": [item]})
        items.append({"choices": [], "usage": usage})
        return _Events(items)

    async def _answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], Any] | None:
        if method == "GET" and path == "/v1/models":
            return 200, {}, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
            return 404, {}, {"error": {"message": f"no route {path}"}}
        req = json.loads(body)
        with self.lock:
            self.posts.append(req)
            self.post_times.append(time.monotonic())
            action = self.faults.pop(0) if self.faults else "ok"
        if action == "drop":
            return None
        if action == "hang":
            await asyncio.Event().wait()
        if req.get("stream") and self.streams == "refuse":
            return 400, {}, {"error": {"message": "streaming is not supported"}}
        if action == "429":
            return 429, {"Retry-After": str(self.retry_after)}, {"error": {"message": "rate limited"}}
        if action == "500":
            return 500, {}, {"error": {"message": "internal error"}}
        await asyncio.sleep(self.slow_delay if action == "slow" else self.delay)
        if req.get("model") != self.model:
            return 404, {}, {"error": {"message": f"The model `{req.get('model')}` does not exist."}}
        chat = path.endswith("chat/completions")
        prompt = json.dumps(req["messages"]) if chat else req["prompt"]
        n = 1 if self.ignore_n else int(req.get("n", 1))
        choices = []
        for i in range(n):
            if self.responder is not None:
                text = self.responder(req, i)
            else:
                text = expected_text(prompt, req.get("seed"), i) + self.suffix
            reason = "length" if req.get("max_tokens", 16) < 4 else "stop"
            choice = {"index": i, "finish_reason": reason}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            choices.append(choice)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 3 * n, "total_tokens": 0}
        if req.get("stream") and self.streams == "yes":
            return 200, {}, self._events(chat, choices, usage)
        return 200, {}, {"id": "x", "object": "text_completion", "choices": choices, "usage": usage}


class _Events:
    """A streamed answer: the events to send, in order."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
