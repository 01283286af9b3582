"""Throughput of the `openai` backend against a local server that answers every request after a fixed delay.

    .venv/bin/python benchmarks/llm_client.py [--requests 2000] [--delay 0.2] [--in-flight 64]

The server runs in its own process, so the client's CPU time is its own. Compared in the same run:
- the ideal: in-flight limit / delay requests per second;
- a sequential client (one httpx request after another), what a research script usually does;
- the official `openai` SDK (AsyncOpenAI with a semaphore of the same size), what a user would write by hand;
- codealign answering the same requests again from its cache, and codealign with its httpx transport.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

SERVER = textwrap.dedent(
    """
    import asyncio, json, sys
    delay = float(sys.argv[2])
    BODY = json.dumps({"id": "x", "object": "text_completion", "choices": [{"index": 0, "text": "ok " * 20,
                       "finish_reason": "stop"}], "usage": {"prompt_tokens": 20, "completion_tokens": 20}}).encode()
    MODELS = json.dumps({"object": "list", "data": [{"id": "bench"}]}).encode()

    async def handle(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                length = 0
                while True:
                    h = await reader.readline()
                    if h in (b"\\r\\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                body = MODELS if line.startswith(b"GET") else BODY
                if not line.startswith(b"GET"):
                    await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                             + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("benchmark server did not start")


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_codealign(base_url: str, n: int, in_flight: int, cache_dir: str | None,
                  http_client: str = "auto") -> tuple[float, float, dict]:
    from codealign.cache import Cache
    from codealign.llm import Request, SamplingOptions, load_backend

    reqs = [Request(prompt=f"task {i}", options=SamplingOptions(max_tokens=20)) for i in range(n)]
    config = {"type": "openai", "model": "bench", "base_url": base_url, "max_in_flight": in_flight,
              "http_client": http_client}
    backend = load_backend(config, Cache(cache_dir) if cache_dir else None)
    backend.load()
    backend._loaded = True  # connection setup is not part of the measured work
    results: list = []
    wall, cpu = _timed(lambda: results.extend(backend.generate(reqs)))
    backend.close()
    assert all(r.error is None for r in results), [r.error for r in results if r.error][:3]
    return wall, cpu, backend.usage.as_dict()


def run_sequential(base_url: str, n: int) -> tuple[float, float]:
    import httpx

    def go() -> None:
        with httpx.Client() as client:
            for i in range(n):
                client.post(f"{base_url}/completions", json={"model": "bench", "prompt": f"task {i}"}).raise_for_status()

    return _timed(go)


def run_openai_sdk(base_url: str, n: int, in_flight: int) -> tuple[float, float] | None:
    try:
        from openai import AsyncOpenAI
    except ImportError:
        return None

    async def go() -> None:
        client = AsyncOpenAI(base_url=base_url, api_key="none", max_retries=3)
        sem = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with sem:
                await client.completions.create(model="bench", prompt=f"task {i}", max_tokens=20)

        await asyncio.gather(*(one(i) for i in range(n)))
        await client.close()

    return _timed(lambda: asyncio.run(go()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--sequential", type=int, default=25, help="requests for the sequential client")
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.delay)])
    try:
        _wait(port)
        base_url = f"http://127.0.0.1:{port}/v1"
        ideal = args.in_flight / args.delay
        rows = []
        with tempfile.TemporaryDirectory() as cache_dir:
            wall, cpu, usage = run_codealign(base_url, args.requests, args.in_flight, cache_dir)
            rows.append(("codealign openai backend", args.requests, wall, cpu))
            again_wall, again_cpu, again_usage = run_codealign(base_url, args.requests, args.in_flight, cache_dir)
            assert again_usage["backend_calls"] == 0
            rows.append(("codealign, second run (cache)", args.requests, again_wall, again_cpu))
        wall_x, cpu_x, _ = run_codealign(base_url, args.requests, args.in_flight, None, "httpx")
        rows.append(("codealign, http_client=httpx", args.requests, wall_x, cpu_x))
        sdk = run_openai_sdk(base_url, args.requests, args.in_flight)
        if sdk is not None:
            rows.append(("openai SDK, asyncio + semaphore", args.requests, *sdk))
        seq_wall, seq_cpu = run_sequential(base_url, args.sequential)
        rows.append(("sequential httpx client", args.sequential, seq_wall, seq_cpu))
    finally:
        server.terminate()
        server.wait()

    print(f"server delay {args.delay * 1000:.0f} ms, {args.in_flight} in flight, ideal {ideal:,.0f} req/s, "
          f"{os.cpu_count()} CPUs")
    print(f"{'client':34} {'requests':>8} {'req/s':>10} {'of ideal':>9} {'CPU ms/req':>11}")
    base = rows[0][1] / rows[0][2]
    for name, n, wall, cpu in rows:
        rate = n / wall
        print(f"{name:34} {n:>8} {rate:>10,.1f} {rate / ideal:>9.1%} {cpu / n * 1000:>11.3f}")
    print(f"codealign vs sequential: {base / (rows[-1][1] / rows[-1][2]):,.1f}x")
    if sdk is not None:
        print(f"codealign vs openai SDK: {base / (args.requests / sdk[0]):.2f}x throughput, "
              f"{(sdk[1] / args.requests) / (rows[0][3] / args.requests):.2f}x less CPU per request")
    print(f"codealign latency p50 {usage['latency_p50_s'] * 1000:.0f} ms, p95 {usage['latency_p95_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
