"""HTTP transports for the openai backend: a lean HTTP/1.1 client on asyncio streams, and httpx.

The stream client keeps one keep-alive connection per request in flight and does nothing else, which costs a
fraction of httpx's CPU per request; with 64 requests in flight that decides whether the client or the server is
the bottleneck (see benchmarks/llm_client.py). httpx stays the choice for https (proxies, HTTP/2, certificates),
and either can be forced with `http_client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_POOL_SIZE = 8  # connections per httpx client; see HttpxTransport


class TransportError(Exception):
    """The connection failed, dropped or timed out: worth retrying."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Watch:
    """One request in flight, as the watchdog sees it."""

    __slots__ = ("task", "started", "why")

    def __init__(self, task: asyncio.Task | None, started: float) -> None:
        self.task = task
        self.started = started
        self.why = ""


class Watchdog:
    """Fails requests a server will not answer, without cutting off a slow one that is alive.

    Every byte received on any connection counts as a sign of life. A request that has waited `first_byte`
    seconds while no byte at all arrived from the server for as long fails with "no answer within N s"; one that
    outlives `timeout` fails with "timeout" whatever else happens. With streamed answers a live server sends bytes
    all the time, so only a stuck or dead one goes silent; `first_byte=None` turns the silence rule off (for servers
    that send nothing until an answer is complete). One timer per transport checks every request about once a second.
    """

    def __init__(self, timeout: float, first_byte: float | None) -> None:
        self.timeout = timeout
        self.first_byte = first_byte
        self.last_byte = 0.0
        self._watches: set[_Watch] = set()
        self._timer: asyncio.Task | None = None

    def touch(self) -> None:
        self.last_byte = asyncio.get_running_loop().time()

    async def run(self, coro: Any) -> Any:
        """Await `coro` (the whole exchange of one request) under the watchdog."""
        loop = asyncio.get_running_loop()
        watch = _Watch(asyncio.current_task(), loop.time())
        self._watches.add(watch)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.ensure_future(self._tick())
        try:
            return await coro
        except asyncio.CancelledError:
            cancelling = getattr(watch.task, "cancelling", lambda: 1)()
            if not watch.why or cancelling > 1:
                raise  # cancelled by the caller (too), not only by us
            uncancel = getattr(watch.task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            raise TransportError(watch.why) from None
        finally:
            self._watches.discard(watch)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        step = min(1.0, self.timeout / 4, (self.first_byte or 1.0) / 4)
        while self._watches:
            await asyncio.sleep(step)
            now = loop.time()
            silent = now - self.last_byte
            for w in list(self._watches):
                waited = now - w.started
                if w.why:
                    continue
                if waited > self.timeout:
                    w.why = "timeout"
                elif self.first_byte is not None and waited > self.first_byte and silent > self.first_byte:
                    w.why = f"no answer within {self.first_byte:g} s"
                if w.why and w.task is not None and not w.task.done():
                    w.task.cancel()

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)


class StreamTransport:
    """HTTP/1.1 with keep-alive over asyncio streams; at most `limit` requests (and connections) at once."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float, limit: int,
                 first_byte: float | None = None) -> None:
        parts = urlsplit(base_url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal keeps its brackets
        host = host if parts.port is None else f"{host}:{parts.port}"
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"Host: {host}\r\nAccept: application/json\r\nUser-Agent: codealign\r\n{extra}"
        self.timeout = timeout
        self.watchdog = Watchdog(timeout, first_byte)
        self._sem = asyncio.Semaphore(limit)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._open: set[asyncio.StreamWriter] = set()
        self._ssl = ssl.create_default_context() if self.tls else None

    async def request(self, method: str, path: str, payload: Any = None, timeout: float | None = None) -> Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        raw = (head + "\r\n").encode() + body
        async with self._sem:
            if timeout is not None:  # a short check (GET /models): a plain deadline
                try:
                    return await asyncio.wait_for(self._exchange(raw), timeout)
                except asyncio.TimeoutError:
                    raise TransportError("timeout") from None
            return await self.watchdog.run(self._exchange(raw))

    async def _exchange(self, raw: bytes) -> Response:
        while self._idle:
            # A kept-alive connection may have been closed by the server meanwhile; that is not a failure.
            conn = self._idle.pop()
            try:
                return await self._send(conn, raw)
            except _Stale:
                continue
        try:
            conn = await asyncio.open_connection(self.host, self.port, ssl=self._ssl, limit=2**24)
        except OSError as exc:
            raise TransportError(f"connect failed: {exc.strerror or type(exc).__name__}") from None
        self._open.add(conn[1])
        try:
            return await self._send(conn, raw)
        except _Stale:
            raise TransportError("connection closed by the server") from None

    async def _send(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> Response:
        reader, writer = conn
        got_bytes = False
        try:
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise _Stale()
            got_bytes = True
            self.watchdog.touch()
            status = int(status_line.split(b" ", 2)[1])
            headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise asyncio.IncompleteReadError(b"", None)
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = await _read_chunked(reader, self.watchdog.touch)
            else:
                body = await _read_to_end(reader, self.watchdog.touch)
                headers["connection"] = "close"
        except _Stale:
            self._drop(writer)
            raise
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self._drop(writer)
            if not got_bytes and isinstance(exc, (ConnectionError, asyncio.IncompleteReadError)):
                raise _Stale() from None
            raise TransportError(f"connection dropped ({type(exc).__name__})") from None
        except BaseException:
            self._drop(writer)  # cancelled or timed out half-way: the connection is in an unknown state
            raise
        if headers.get("connection", "").lower() == "close":
            self._drop(writer)
        else:
            self._idle.append(conn)
        return Response(status, headers, body)

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    async def aclose(self) -> None:
        """Close every connection, idle or not, and wait until they are closed (nothing is left to the loop)."""
        await self.watchdog.aclose()
        self._idle.clear()
        writers = list(self._open)
        self._open.clear()
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)


class _Stale(Exception):
    """A reused connection turned out closed before answering: try another one."""


async def _read_chunked(reader: asyncio.StreamReader, touch: Any) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        touch()
        await reader.readline()


async def _read_to_end(reader: asyncio.StreamReader, touch: Any) -> bytes:
    parts = []
    while chunk := await reader.read(1 << 16):
        parts.append(chunk)
        touch()
    return b"".join(parts)


class HttpxTransport:
    """httpx, split into pools of `_POOL_SIZE` connections.

    httpx's pool costs O(connections x waiting requests) per event, so one pool of 64 connections is CPU-bound;
    small pools, each never given more requests than it has connections, keep the cost per request flat.
    """

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float, limit: int,
                 first_byte: float | None = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.watchdog = Watchdog(timeout, first_byte)
        sizes = [min(_POOL_SIZE, limit - start) for start in range(0, limit, _POOL_SIZE)]
        tmo = httpx.Timeout(timeout, connect=min(timeout, 30.0))
        self._clients = [
            httpx.AsyncClient(headers=headers, timeout=tmo,
                              limits=httpx.Limits(max_connections=size, max_keepalive_connections=size))
            for size in sizes
        ]
        self._slots: asyncio.Queue[Any] = asyncio.Queue()
        for round_ in range(_POOL_SIZE):
            for client, size in zip(self._clients, sizes, strict=True):
                if round_ < size:
                    self._slots.put_nowait(client)

    async def request(self, method: str, path: str, payload: Any = None, timeout: float | None = None) -> Response:
        import httpx

        client = await self._slots.get()
        try:
            if timeout is not None:
                resp = await client.request(method, self.base_url + path, json=payload, timeout=timeout)
                return Response(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)
            return await self.watchdog.run(self._stream(client, method, path, payload))
        except httpx.TimeoutException:
            raise TransportError("timeout") from None
        except httpx.TransportError as exc:
            raise TransportError(f"connection error ({type(exc).__name__})") from None
        finally:
            self._slots.put_nowait(client)

    async def _stream(self, client: Any, method: str, path: str, payload: Any) -> Response:
        parts = []
        async with client.stream(method, self.base_url + path, json=payload) as resp:
            self.watchdog.touch()
            async for chunk in resp.aiter_bytes():
                parts.append(chunk)
                self.watchdog.touch()
        return Response(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, b"".join(parts))

    async def aclose(self) -> None:
        await self.watchdog.aclose()
        for client in self._clients:
            await client.aclose()


def make_transport(kind: str, base_url: str, headers: dict[str, str], timeout: float,
                   limit: int, first_byte: float | None = None) -> StreamTransport | HttpxTransport:
    """`kind`: "builtin", "httpx", or "auto" (builtin for plain http://, httpx for https:// or through a proxy)."""
    if kind == "auto":
        import urllib.request

        host = urlsplit(base_url).hostname or ""
        loopback = host in ("localhost", "127.0.0.1", "::1")
        proxied = not loopback and "http" in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)
        kind = "httpx" if base_url.startswith("https://") or proxied else "builtin"
    cls = HttpxTransport if kind == "httpx" else StreamTransport
    return cls(base_url, headers, timeout, limit, first_byte)
