"""A scripted OpenAI-compatible server: `/v1/completions` and `/v1/chat/completions` answered with hand-written outputs.

It stands in for a base model behind vLLM so the whole pipeline can run on any machine: the answer to a prompt is
chosen by the item the prompt asks about (see `scenarios.yaml`), then cut at the request's stop strings and
`max_tokens` the way a real server cuts it. Every answered request is appended to a JSONL log, so tests can count
the calls a run made. An item that contains `SCRIPTED-SERVER-ERROR` is answered with HTTP 500, every time.

    python -m codealign.testing.server --port 0 --log requests.jsonl --ready-file port.txt
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from codealign.records import content_hash

_CHARS_PER_TOKEN = 4
# An item (seed, concepts or instruction) containing this text gets HTTP 500 every time: a request that never succeeds.
FAIL_MARKER = "SCRIPTED-SERVER-ERROR"
_TAIL = {
    "concepts": "\n\n## Example 9\n### Snippet\ndef helper(items):\n",
    "instruction": "\n\n## Example 9\n### Properties\ncategory: function\n",
    "response": "\n\n## Example 2\n<instruction>\nWrite a function that",
    "problem": "\n\n## Example 4\n[Code Snippet]\nfor item in items:\n",
    "evolve": "\n\n## Example 5\n### Task\nWrite a function that",
    "bootstrap": "\nTask 17: Write a Python function that\nTask 18: Write",
}
# Requirement sentences added to a task the scenarios do not evolve (and past their last level), picked by seed.
_EXTRA_REQUIREMENTS = (
    "Raise a `TypeError` when an argument has the wrong type.",
    "Do not use any imported module.",
    "The solution must run in linear time in the size of the input.",
    "Handle an empty input by returning an empty result instead of failing.",
)
_GENERIC = {
    "concepts": "function definition, return values, conditional logic",
    "instruction": "Write a Python function `identity(x)` that returns its argument unchanged.",
}
_GENERIC_RESPONSE = {
    "kind": "correct",
    "text": "Return the argument.\n\n```python\ndef identity(x):\n    return x\n```",
    "tests": "assert identity(3) == 3\nassert identity('a') == 'a'",
}


class ServerFailure(Exception):
    """Answered as HTTP 500."""


def load_script() -> dict[str, Any]:
    import yaml

    text = resources.files("codealign.testing").joinpath("scenarios.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_scenarios() -> list[dict[str, Any]]:
    return load_script()["scenarios"]


def _pick(options: list[Any], seed: int | None, i: int, n: int) -> Any:
    """Choice i of n: by the seed when a single sample carries one (so a sample always gets the same text)."""
    if n == 1 and seed is not None:
        return options[int(content_hash(str(seed), 8), 16) % len(options)]
    return options[i % len(options)]


def _last_block(text: str, start: str, end: str | None) -> tuple[int, str]:
    pos = text.rfind(start)
    if pos < 0:
        return -1, ""
    body = text[pos + len(start) :]
    if end is not None and end in body:
        body = body[: body.index(end)]
    return pos, body


@dataclass
class Script:
    """Chooses the text a prompt gets: which stage it is for, which scenario, which response."""

    script: dict[str, Any] = field(default_factory=load_script)

    @property
    def scenarios(self) -> list[dict[str, Any]]:
        return self.script["scenarios"]

    def stage_of(self, prompt: str) -> tuple[str, str]:
        method = prompt.rfind("### Method\n")
        evolve = (-1, "")
        if method >= 0:
            task = prompt.rfind("### Task\n", 0, method)
            evolve = (method, prompt[task + len("### Task\n") : method].strip() if task >= 0 else "")
        listing = prompt.rfind("Task 1: ")
        candidates = [
            ("concepts", *_last_block(prompt, "### Snippet\n", "### Concepts")),
            ("instruction", *_last_block(prompt, "### Properties\n", "### Task")),
            ("response", *_last_block(prompt, "<instruction>\n", "</instruction>")),
            ("problem", *_last_block(prompt, "[Code Snippet]\n", "[Problem Description]")),
            ("evolve", *evolve),
            ("bootstrap", listing, prompt[listing:] if listing >= 0 else ""),
        ]
        stage, pos, body = max(candidates, key=lambda c: c[1])
        if stage == "response" and "\n<fixed_response>\n" in prompt[pos:]:
            # A repair prompt: the task, the failing response, its tests and error, then `<fixed_response>`.
            return "repair", prompt[pos:]
        return (stage, body) if pos >= 0 else ("unknown", prompt)

    def find(self, stage: str, body: str) -> dict[str, Any] | None:
        if stage == "problem":
            return next((s for s in self.scenarios if any(m in body for m in s.get("snippet_match", ()))), None)
        if stage == "evolve":
            keys = ("task_match", "instruction_match")
            return next((s for s in self.scenarios if any(s.get(k) and s[k] in body for k in keys)), None)
        key = {"concepts": "seed_match", "instruction": "concepts_match", "response": "instruction_match",
               "repair": "instruction_match"}[stage]  # fmt: skip
        # A task is written in the language its properties ask for: only that language's scenarios may answer.
        asked = re.search(r"^language: (\S+)$", body, re.M) if stage == "instruction" else None
        for scenario in self.scenarios:
            if asked and scenario.get("language", "python") != asked.group(1):
                continue
            if scenario[key] in body:
                return scenario
        return None

    def texts(
        self, prompt: str, n: int, seed: int | None = None, model: str = "", chat: bool = False
    ) -> tuple[str, str, list[tuple[str, str]]]:
        """(stage, scenario name, n (kind, raw text) pairs as the model would write them before any stop string).

        Choice i of a request gets response i; a single-sample request that carries a seed gets the response the
        seed picks, so the same sample always gets the same text however the client splits its requests. A model
        whose name contains "teacher" answers responses with the correct ones only.
        """
        stage, body = self.stage_of(prompt)
        if stage == "unknown":
            return stage, "", [("judgement", "Yes")] * n
        if stage == "bootstrap":
            starts = [int(content_hash(str(seed), 8), 16) if n == 1 and seed is not None else i for i in range(n)]
            return stage, "self-instruct", [self._bootstrap(start, chat) for start in starts]
        scenario = self.find(stage, body)
        name = scenario["name"] if scenario else "generic"
        if stage in ("concepts", "instruction"):
            text = scenario[stage] if scenario else _GENERIC[stage]
            return stage, name, [(stage, text + _TAIL[stage])] * n
        if stage == "evolve":
            return stage, name, [self._evolve(scenario, body, seed, i, n) for i in range(n)]
        responses = (scenario["responses"] if scenario else None) or [_GENERIC_RESPONSE]
        if stage == "repair":
            return stage, name, [self._repair(responses, body)] * n
        if stage == "problem":
            answers = [*(r for r in responses if scenario and r is not _GENERIC_RESPONSE), *(scenario or {}).get("oss", [])]
            answers = answers or [_GENERIC_RESPONSE]
            problem = (scenario or {}).get("oss_problem") or _GENERIC["instruction"]
            with_tests = "[Tests]" in prompt or "made of assert statements" in prompt
            picked = [_pick(answers, seed, i, n) for i in range(n)]
            return stage, name, [(a["kind"], self._problem(problem, a, with_tests)) for a in picked]
        if "teacher" in model.lower():
            responses = [r for r in responses if r["kind"] == "correct"] or responses
        tag = (scenario or {}).get("language", "python")
        picked = [_pick(responses, seed, i, n) for i in range(n)]
        return stage, name, [(r["kind"], self._response(r, tag)) for r in picked]

    def _problem(self, problem: str, answer: dict[str, Any], with_tests: bool) -> str:
        text = f"{answer.get('problem', problem)}\n\n[Solution]\n{answer['text']}"
        if "ramble" in answer:
            text = text.replace("RAMBLE", answer["ramble"] * 4000)
        elif with_tests and "tests" in answer:
            text += f"\n\n[Tests]\n```python\n{answer['tests']}\n```"
        return text + _TAIL["problem"]

    def _evolve(self, scenario: dict[str, Any] | None, task: str, seed: int | None, i: int, n: int) -> tuple[str, str]:
        levels = (scenario or {}).get("evolutions", [])
        level = 0
        for depth, alternatives in enumerate(levels, 1):
            if any(a["kind"] == "evolved" and a["text"].strip() == task for a in alternatives):
                level = depth
        if level < len(levels):
            answer = _pick(levels[level], seed, i, n)
            text = task if answer["text"] == "SAME" else answer["text"]
            return answer["kind"], text + _TAIL["evolve"]
        return "evolved", f"{task} {_pick(list(_EXTRA_REQUIREMENTS), seed, i, n)}" + _TAIL["evolve"]

    def _bootstrap(self, start: int, chat: bool) -> tuple[str, str]:
        tasks = self.script.get("self_instruct_tasks", [])
        chosen = [tasks[(start + k) % len(tasks)] for k in range(8)]
        lines = [f"Task {9 + k}: {t['text']}" for k, t in enumerate(chosen)]
        if not chat:
            lines[0] = " " + chosen[0]["text"]  # the prompt ends with "Task 9:"
        return ",".join(t["kind"] for t in chosen), "\n".join(lines) + _TAIL["bootstrap"]

    @staticmethod
    def _repair(responses: list[dict[str, Any]], body: str) -> tuple[str, str]:
        """The answer to a repair prompt: the `repair` text of the response being repaired (found by its code),
        or that response again, unchanged, when the scenario has no repair for it."""
        failing = body.split("\n<response>\n", 1)[-1].split("\n</response>", 1)[0]
        for item in responses:
            code = item["text"].split("```python\n", 1)[-1].split("```", 1)[0].strip()
            if "```python" in item["text"] and code and code in failing:
                if "repair" in item:
                    return "repair", f"{item['repair']}\n</fixed_response>{_TAIL['response']}"
                return "repair_unchanged", f"{item['text']}\n</fixed_response>{_TAIL['response']}"
        return "repair_unknown", f"{failing}\n</fixed_response>{_TAIL['response']}"

    @staticmethod
    def _response(item: dict[str, Any], tag: str = "python") -> str:
        text = item["text"]
        if "ramble" in item:
            return text.replace("RAMBLE", item["ramble"] * 4000)
        if "tests" not in item:
            return text + _TAIL["response"]
        return f"{text}\n</response>\n\n<tests>\n```{tag}\n{item['tests']}\n```\n</tests>{_TAIL['response']}"


def cut(text: str, stop: list[str], max_tokens: int) -> tuple[str, str, int]:
    """Apply stop strings and the token budget: (text, finish_reason, completion tokens)."""
    cuts = [text.index(s) for s in stop if s and s in text]
    if cuts:
        text = text[: min(cuts)]
    limit = max_tokens * _CHARS_PER_TOKEN
    if len(text) > limit:
        return text[:limit], "length", max_tokens
    return text, "stop", max(1, -(-len(text) // _CHARS_PER_TOKEN))


class ScriptedServer:
    """The server, run in a background thread; `url` is its OpenAI base URL (ending in /v1)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, log_path: str | Path | None = None, model: str = "scripted"
    ) -> None:
        self.model = model
        self.script = Script()
        self.log_path = Path(log_path) if log_path else None
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._httpd.server_address[0]}:{self.port}/v1"

    def start(self) -> ScriptedServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        chat = path.endswith("/chat/completions")
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        else:
            prompt = body.get("prompt", "")
            if isinstance(prompt, list):  # one prompt per call is all the pipeline sends
                prompt = prompt[0] if prompt else ""
        n = int(body.get("n") or 1)
        stage, item = self.script.stage_of(prompt)
        if FAIL_MARKER in item:
            self._log({"time": time.time(), "path": path, "stage": stage, "error": 500, "seed": body.get("seed")})
            raise ServerFailure("scripted failure: the item asks the server to fail")
        stop = body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        model = str(body.get("model", ""))
        stage, scenario, raw = self.script.texts(prompt, n, body.get("seed"), model=model, chat=chat)
        choices, used = [], 0
        for i, (_kind, text) in enumerate(raw):
            text, finish, tokens = cut(text, stop, max_tokens)
            used += tokens
            if chat:
                choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish})
            else:
                choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": None})
        prompt_tokens = max(1, len(prompt) // _CHARS_PER_TOKEN)
        entry = {
            "time": time.time(),
            "path": path,
            "stage": stage,
            "scenario": scenario,
            "n": n,
            "model": model,
            "seed": body.get("seed"),
            "kinds": [kind for kind, _ in raw],
            "prompt_hash": content_hash(prompt, 16),
        }
        self._log(entry)
        return {
            "id": f"cmpl-{content_hash([prompt, n, time.time()], 16)}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": used, "total_tokens": prompt_tokens + used},
        }

    def _log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The requests a server logged to `path`, in the order it answered them."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        # A client killed mid-request (what the resume tests do on purpose) is not an error of the server.
        if isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def _make_handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if re.fullmatch(r"/v1/models/?", self.path):
                self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "body is not JSON"}})
                return
            if self.path.rstrip("/") not in ("/v1/completions", "/v1/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                self._send(200, server.answer(self.path.rstrip("/"), body))
            except ServerFailure as exc:
                self._send(500, {"error": {"message": str(exc), "type": "server_error"}})

    return Handler


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    log_path: str | None = None,
    ready_file: str | None = None,
    model: str = "scripted",
) -> None:
    """Run the server in the foreground until interrupted; write its port to `ready_file` once it listens."""
    server = ScriptedServer(host, port, log_path, model)
    if ready_file:
        tmp = Path(ready_file).with_suffix(".tmp")
        tmp.write_text(str(server.port))
        tmp.replace(ready_file)
    print(f"scripted server listening on {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--log", default=None, help="append every answered request to this JSONL file")
    parser.add_argument("--ready-file", default=None, help="write the port here once listening")
    parser.add_argument("--model", default="scripted", help="the model name the server says it serves")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.log, args.ready_file, args.model)


if __name__ == "__main__":
    main()
