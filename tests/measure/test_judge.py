"""LLM-judge metrics against a real HTTP server on localhost that answers like an OpenAI-compatible model."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codealign.measure import MeasureConfig, dataset_from_rows, measure
from codealign.measure.judge import parse_score


class Judge(BaseHTTPRequestHandler):
    """Scores a record by the number in its instruction ('task 7' -> 7); 'task 0' gets an answer with no score."""

    calls = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        n = int(re.search(r"task (\d+)", prompt).group(1))
        text = "Looks fine." if n == 0 else f"Correct and clear.\nScore: {n}"
        choice = {"index": 0, "finish_reason": "stop"}
        choice.update({"message": {"role": "assistant", "content": text}} if "messages" in body else {"text": text})
        out = json.dumps({"choices": [choice], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Judge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_parse_score():
    assert parse_score("Reasons: fine.\nScore: 7") == 7
    assert parse_score("score = 9.5 overall") == 9.5
    assert parse_score("I give it 4") == 4
    assert parse_score("Score: 42") is None
    assert parse_score("no number") is None


@pytest.mark.network
def test_llm_quality_and_complexity_through_a_server(judge_url, tmp_path):
    from codealign.cache import Cache

    rows = [{"instruction": f"Solve task {n}.", "response": "def f():\n    return 1\n"} for n in (2, 4, 9, 0)]
    ds = dataset_from_rows(rows)
    options = {"model": "judge", "base_url": judge_url, "mode": "chat"}
    config = MeasureConfig(metrics=["llm_quality", "llm_complexity"], options={"llm_quality": options,
                           "llm_complexity": {**options, "mode": "completion"}}, workers=1)
    with Cache(tmp_path / "cache") as cache:
        m = measure(ds, config, cache=cache)
        q, c = m.results["llm_quality"], m.results["llm_complexity"]
        assert q.values["quality_score"] == pytest.approx(5.0) and q.values["judged"] == 3 and q.values["unparsed"] == 1
        assert c.values["complexity_score"] == pytest.approx(5.0)
        assert q.group == "quality" and c.group == "complexity"
        calls = Judge.calls
        again = measure(ds, config, cache=cache)  # judged answers come from the cache
        assert Judge.calls == calls
        assert again.value("llm_quality.quality_score") == pytest.approx(5.0)
