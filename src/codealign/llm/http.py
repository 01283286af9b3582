"""HTTP transports for the openai backend: a lean HTTP/1.1 client on asyncio streams, and httpx.

The stream client keeps one keep-alive connection per request in flight and does nothing else, which costs a
fraction of httpx's CPU per request; with 64 requests in flight that decides whether the client or the server is
the bottleneck (see benchmarks/llm_client.py). httpx stays the choice for https (proxies, HTTP/2, certificates),
and either can be forced with `http_client`.
"""

from __future__ import annotations

import asyncio
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


class StreamTransport:
    """HTTP/1.1 with keep-alive over asyncio streams; at most `limit` requests (and connections) at once."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float, limit: int) -> None:
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
        self._sem = asyncio.Semaphore(limit)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def request(self, method: str, path: str, payload: Any = None, timeout: float | None = None) -> Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        raw = (head + "\r\n").encode() + body
        async with self._sem:
            try:
                return await asyncio.wait_for(self._exchange(raw), timeout or self.timeout)
            except asyncio.TimeoutError:
                raise TransportError("timeout") from None

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
                body = await _read_chunked(reader)
            else:
                body = await reader.read()
                headers["connection"] = "close"
        except _Stale:
            writer.close()
            raise
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            writer.close()
            if not got_bytes and isinstance(exc, (ConnectionError, asyncio.IncompleteReadError)):
                raise _Stale() from None
            raise TransportError(f"connection dropped ({type(exc).__name__})") from None
        except BaseException:
            writer.close()  # cancelled or timed out half-way: the connection is in an unknown state
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append(conn)
        return Response(status, headers, body)

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()


class _Stale(Exception):
    """A reused connection turned out closed before answering: try another one."""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()


class HttpxTransport:
    """httpx, split into pools of `_POOL_SIZE` connections.

    httpx's pool costs O(connections x waiting requests) per event, so one pool of 64 connections is CPU-bound;
    small pools, each never given more requests than it has connections, keep the cost per request flat.
    """

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float, limit: int) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
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
            resp = await client.request(method, self.base_url + path, json=payload, timeout=timeout or self.timeout)
        except httpx.TimeoutException:
            raise TransportError("timeout") from None
        except httpx.TransportError as exc:
            raise TransportError(f"connection error ({type(exc).__name__})") from None
        finally:
            self._slots.put_nowait(client)
        return Response(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def make_transport(kind: str, base_url: str, headers: dict[str, str], timeout: float,
                   limit: int) -> StreamTransport | HttpxTransport:
    """`kind`: "builtin", "httpx", or "auto" (builtin for plain http://, httpx for https:// or through a proxy)."""
    if kind == "auto":
        import urllib.request

        host = urlsplit(base_url).hostname or ""
        loopback = host in ("localhost", "127.0.0.1", "::1")
        proxied = not loopback and "http" in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)
        kind = "httpx" if base_url.startswith("https://") or proxied else "builtin"
    cls = HttpxTransport if kind == "httpx" else StreamTransport
    return cls(base_url, headers, timeout, limit)
