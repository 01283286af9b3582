"""A run killed half-way and started again makes exactly the calls that were missing, and gets the same texts."""

import subprocess
import sys
import textwrap
import time

from codealign.cache import Cache
from codealign.llm import derive_seed
from codealign.llm.backend import NS
from tests.llm.fake_openai import FakeOpenAI, expected_text

N_REQUESTS = 30
N_SAMPLES = 2

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from codealign.cache import Cache
    from codealign.llm import Request, SamplingOptions, load_backend

    base_url, cache_dir, n_requests, n_samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    reqs = [Request(prompt=f"task {i}", options=SamplingOptions(n=n_samples, seed=100 + i)) for i in range(n_requests)]
    config = {"type": "openai", "model": "fake-model", "base_url": base_url, "max_in_flight": 2}
    with load_backend(config, Cache(cache_dir)) as backend:
        results = backend.generate(reqs)
    print(json.dumps([[c.text for c in r.completions] for r in results]))
    """
)


def _run(base_url, cache_dir):
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, base_url, str(cache_dir), str(N_REQUESTS), str(N_SAMPLES)],
        stdout=subprocess.PIPE, text=True,
    )


def test_killed_run_resumes_with_exactly_the_missing_calls(tmp_path):
    import json

    with FakeOpenAI(delay=0.05) as server:
        proc = _run(server.base_url, tmp_path)
        deadline = time.monotonic() + 60
        while len(server.posts) < N_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        first_calls = len(server.posts)
        assert 0 < first_calls < N_REQUESTS * N_SAMPLES
        with Cache(tmp_path) as cache:
            stored = cache.stats()[NS]["entries"]
        assert 0 < stored <= first_calls

        proc = _run(server.base_url, tmp_path)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        # One call per missing sample (seeded requests go one sample per call), and nothing else.
        assert len(server.posts) - first_calls == N_REQUESTS * N_SAMPLES - stored
    texts = json.loads(out)
    assert texts == [
        [expected_text(f"task {i}", derive_seed(100 + i, s)) for s in range(N_SAMPLES)] for i in range(N_REQUESTS)
    ]
