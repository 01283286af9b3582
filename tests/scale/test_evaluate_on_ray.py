"""`codealign evaluate --executor ray`: backend actors ask the server, sandbox actors run the samples, pass@k is
exact, and the driver's cache means no sample is asked twice."""

import json

import pytest
from typer.testing import CliRunner

from codealign.cli import app
from codealign.evaluate.benchmarks import load_benchmark
from tests.evaluate.answers import HumanEvalAnswers, expected_pass_at_k
from tests.llm.fake_openai import FakeOpenAI

N = 1


def test_evaluate_on_ray_gives_the_exact_pass_at_k_and_asks_each_sample_once(tmp_path, ray_cluster):
    problems = list(load_benchmark("humaneval"))
    right = [(i * 5) % (N + 1) for i in range(len(problems))]
    answers = HumanEvalAnswers(problems, right, N)
    with FakeOpenAI(model="known-answers", responder=answers) as server:
        args = ["evaluate", "--benchmark", "humaneval", "--model", server.model, "--base-url", server.base_url,
                "-n", str(N), "--temperature", "0.8", "-k", "1", "-o", str(tmp_path / "r.jsonl"), "--workers", "1",
                "--executor", "ray", "--ray-address", ray_cluster.address]  # fmt: skip
        first = CliRunner().invoke(app, args, catch_exceptions=False)
        asked = len(server.posts)
        again = CliRunner().invoke(app, args, catch_exceptions=False)
        asked_again = len(server.posts) - asked
    assert first.exit_code == 0 and again.exit_code == 0, first.output
    passk = json.loads(first.stdout.strip().splitlines()[-1])
    for k in (1,):
        assert passk[f"pass@{k}"] == pytest.approx(expected_pass_at_k(N, right, k), abs=1e-12)
    assert asked == len(problems) * N, "every sample asked exactly once across the backend actors"
    assert asked_again == 0, "the rerun is answered by the driver's cache"
    assert json.loads(again.stdout.strip().splitlines()[-1]) == passk
