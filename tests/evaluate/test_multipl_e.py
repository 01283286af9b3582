"""MultiPL-E from local files: `codealign evaluate --benchmark multipl-e:PATH --model ...` against a server with
known right and wrong answers in eight languages gives the exact pass@k, overall and per language, with every
program run by its language's sandbox runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from codealign.errors import InputError
from codealign.evaluate.base import get_benchmark
from codealign.evaluate.suites.multipl_e import sandbox_language
from codealign.llm import derive_seed
from codealign.registry import LANGUAGES
from tests.evaluate.answers import expected_pass_at_k
from tests.evaluate.multipl_e_data import ROWS, rows
from tests.llm.fake_openai import FakeOpenAI

N = 2
RIGHT = {"cpp": 2, "java": 1, "go_test.go": 2, "rs": 1, "js": 0, "ts": 1, "sh": 2, "py": 1}
INSTALLED = [code for code in ROWS if LANGUAGES.get(sandbox_language(code))().available()]


class Answers:
    """Sample i of a language's task is right when i < RIGHT[language]."""

    def __init__(self) -> None:
        self.by_prompt = {r["prompt"]: code for code, r in ROWS.items()}
        self.sample_of_seed = {derive_seed(0, i): i for i in range(N)}

    def __call__(self, req: dict, choice: int) -> str:
        code = self.by_prompt[req["prompt"]]
        sample = self.sample_of_seed[req["seed"]] if "seed" in req else choice
        return ROWS[code]["right"] if sample < RIGHT[code] else ROWS[code]["wrong"]


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "multipl-e"
    folder.mkdir()
    for row in rows():
        if row["language"] in INSTALLED:
            (folder / f"humaneval-{row['language'].split('_')[0]}.jsonl").write_text(json.dumps(row) + "\n")
    return folder


def test_exact_pass_at_k_per_language_against_a_server(tmp_path, data):
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(model="known-answers", responder=Answers()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "codealign", "evaluate", "--benchmark", f"multipl-e:{data}", "--model", server.model,
             "--base-url", server.base_url, "-n", str(N), "--temperature", "0.8", "-k", "1,2", "-o", str(out),
             "--workers", "2"],
            capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    passk = json.loads(done.stdout)
    right = [RIGHT[code] for code in INSTALLED]
    for k in (1, 2):
        assert passk[f"pass@{k}"] == pytest.approx(expected_pass_at_k(N, right, k), abs=1e-12)
    summary = json.loads(out.with_name("results.summary.json").read_text())
    by_language = summary["pass_at_k_by_language"]
    assert set(by_language) == {sandbox_language(code) for code in INSTALLED}
    for code in INSTALLED:
        figures = by_language[sandbox_language(code)]
        assert figures["pass@1"] == pytest.approx(RIGHT[code] / N), code
        assert figures["pass@2"] == (1.0 if RIGHT[code] else 0.0), code
    assert "pass@1 rust" in done.stderr or "rs" not in INSTALLED  # the terminal summary names each language
    results = {(r["task_id"], r["sample"]): r for r in map(json.loads, out.read_text().splitlines())}
    for code in INSTALLED:
        task = f"{sandbox_language(code)}/HumanEval_53_add"
        for i in range(N):
            row = results[(task, i)]
            # Right answers run on past their stop token into code that would fail: passing means it was cut.
            assert row["passed"] == (i < RIGHT[code]), (task, i, row["outcome"], row["error"])
            assert row["program"].startswith(ROWS[code]["prompt"])
    wrong = {code: results[(f"{sandbox_language(code)}/HumanEval_53_add", N - 1)] for code in INSTALLED if RIGHT[code] < N}
    if "rs" in wrong:
        assert wrong["rs"]["outcome"] == "syntax"  # the compiler's verdict
    if "ts" in wrong:
        assert wrong["ts"]["outcome"] == "syntax" and "TS2322" in wrong["ts"]["error"]  # a type error
    if "java" in wrong:
        assert wrong["java"]["outcome"] == "failed" and wrong["java"]["error_type"] == "AssertionError"


def test_one_language_keeps_multipl_e_names_and_bad_data_is_one_line(tmp_path):
    one = tmp_path / "humaneval-rs.jsonl"
    one.write_text(json.dumps(rows()[3]) + "\n")
    bench = get_benchmark(f"multipl-e:{one}")
    (task,) = bench.tasks()
    assert task.task_id == "HumanEval_53_add" and task.language == "rust" and task.stop == ("\n}",)
    assert bench.info()["languages"] == ["rust"] and len(bench.info()["sha256"]) == 64
    program = bench.from_completion(task, ROWS["rs"]["right"])
    assert program == ROWS["rs"]["prompt"] + "    x + y"
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"name": "x", "language": "cpp", "prompt": "int f() {\n"}) + "\n")
    with pytest.raises(InputError, match="no `tests` string"):
        get_benchmark(f"multipl-e:{broken}").tasks()
    with pytest.raises(InputError, match="not found"):
        get_benchmark(f"multipl-e:{tmp_path / 'nope'}").tasks()


def test_parquet_files_load_as_jsonl_files_do(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows())
    pq.write_table(table, tmp_path / "humaneval.parquet")
    (tmp_path / "humaneval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows()))
    from_parquet = get_benchmark(f"multipl-e:{tmp_path / 'humaneval.parquet'}").tasks()
    from_jsonl = get_benchmark(f"multipl-e:{tmp_path / 'humaneval.jsonl'}").tasks()
    assert [(t.task_id, t.prompt, t.tests, t.stop) for t in from_parquet] == [
        (t.task_id, t.prompt, t.tests, t.stop) for t in from_jsonl]  # fmt: skip
    assert {t.language for t in from_jsonl} == {"cpp", "java", "go", "rust", "javascript", "typescript", "shell",
                                                "python"}  # fmt: skip
