"""humaneval-infilling with a model's fill-in-the-middle tokens, `jsonl:PATH` tasks, and `--train-data` overlap."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codealign.errors import ConfigError, InputError
from codealign.evaluate.base import get_benchmark
from codealign.evaluate.benchmarks import load_benchmark
from codealign.evaluate.suites.infilling import detect_fim
from tests.llm.fake_openai import FakeOpenAI

HE = list(load_benchmark("humaneval"))


def single_line_tasks(count):
    """human-eval-infilling's layout: each task hides one line of a canonical solution."""
    rows = []
    for p in HE[:count]:
        lines = p["canonical_solution"].splitlines(keepends=True)
        hole = next(i for i, ln in enumerate(lines) if "return" in ln)
        rows.append({"task_id": f"SingleLineInfilling/{p['task_id']}/L{hole}", "entry_point": p["entry_point"],
                     "prompt": p["prompt"] + "".join(lines[:hole]), "suffix": "".join(lines[hole + 1:]),
                     "canonical_solution": lines[hole], "test": p["test"]})  # fmt: skip
    return rows


def run(argv, **kw):
    return subprocess.run([sys.executable, "-m", "codealign", "evaluate", *argv], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "COLUMNS": "400"}, **kw)  # fmt: skip


def test_infilling_prompts_with_the_models_fim_tokens(tmp_path):
    rows = single_line_tasks(6)
    data = tmp_path / "HumanEval-SingleLineInfilling.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = tmp_path / "fim-model"
    model.mkdir()
    (model / "tokenizer_config.json").write_text(json.dumps({"additional_special_tokens": [
        "<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]}))  # fmt: skip
    assert detect_fim(model) == "starcoder"
    middles = {r["prompt"] + "\x00" + r["suffix"]: r["canonical_solution"] for r in rows}
    seen = []

    def answer(req, choice):
        prompt = req["prompt"]
        seen.append(prompt)
        assert prompt.startswith("<fim_prefix>") and prompt.endswith("<fim_middle>")
        prefix, suffix = prompt[len("<fim_prefix>"):-len("<fim_middle>")].split("<fim_suffix>")
        right = middles[prefix + "\x00" + suffix]
        task = list(middles).index(prefix + "\x00" + suffix)
        # Even tasks get the right middle (then the end-of-text token a server would cut), odd ones a wrong one.
        return right + "<|endoftext|>junk" if task % 2 == 0 else "    return None\n"

    with FakeOpenAI(model=str(model), responder=answer) as server:
        done = run(["-b", "humaneval-infilling:single-line", "--data", str(data), "--model", str(model),
                    "--base-url", server.base_url, "-k", "1", "-o", str(tmp_path / "r.jsonl")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"pass@1": 0.5}
    assert len(seen) == 6
    out = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert all("junk" not in r["program"] for r in out)
    # Chat mode makes no sense for infilling; a model with no FIM tokens gets a way out in one line.
    with pytest.raises(ConfigError, match="humaneval-infilling:single-line:starcoder"):
        get_benchmark("humaneval-infilling", data).bind_model(type("C", (), {"model": str(tmp_path)})())
    done = run(["-b", "humaneval-infilling", "--data", str(data), "--model", "m", "--base-url",
                "http://127.0.0.1:9/v1", "--mode", "chat"])  # fmt: skip
    assert done.returncode != 0 and "needs completion mode" in done.stderr


def test_jsonl_tasks_any_language_and_bad_files(tmp_path):
    good = tmp_path / "tasks.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in [
        {"prompt": "def double(x):\n", "tests": "assert double(2) == 4\n"},
        {"task_id": "js-inc", "language": "javascript", "prompt": "function inc(x) {\n",
         "tests": "if (inc(1) !== 2) throw new Error('bad');\n"},
    ]))  # fmt: skip
    bench = get_benchmark(f"jsonl:{good}")
    first, second = bench.tasks()
    assert first.task_id == "1" and first.entry_point == "double"
    program = bench.program(second, bench.from_completion(second, "  return x + 1;\n}\n\nconsole.log(inc(1));\n"),
                            bench.limits(None, 4096))  # fmt: skip
    assert program.language == "javascript" and "\nfunction " in bench.stops(second)
    for rows, message in [
        ([{"tests": "assert True"}], "neither a `prompt` nor an `instruction`"),
        ([{"prompt": "def f():\n"}], "no `tests`"),
        ([{"task_id": "a", "prompt": "x", "tests": "t"}, {"task_id": "a", "prompt": "y", "tests": "t"}], "twice"),
    ]:
        bad = tmp_path / "bad.jsonl"
        bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with pytest.raises(InputError, match=message):
            get_benchmark(f"jsonl:{bad}").tasks()
    with pytest.raises(ConfigError, match="unknown benchmark"):
        get_benchmark("humaneval++")


def test_jsonl_tests_in_code_blocks_run_as_code(tmp_path):
    """A run's final/sft.jsonl keeps its tests as a markdown code block; as a jsonl: benchmark they run as code."""
    from codealign.sandbox import Sandbox

    rows = [{"instruction": "Write double(x).", "response": "```python\ndef double(x):\n    return 2 * x\n```",
             "tests": "```python\nassert double(2) == 4\nassert double(-1) == -2\n```"}]  # fmt: skip
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench = get_benchmark(f"jsonl:{tmp_path / 'sft.jsonl'}")
    (task,) = bench.tasks()
    assert task.entry_point == "double" and "```" not in bench.tests_for(task)
    programs = [bench.program(task, bench.from_chat(task, text), bench.limits(None, 1024), pid)
                for pid, text in (("right", rows[0]["response"]), ("wrong", "```python\ndef double(x):\n    return x\n```"))]  # fmt: skip
    with Sandbox(workers=1) as sandbox:
        outcomes = {o.id: o for o in sandbox.run_all(programs)}
    assert outcomes["right"].passed and not outcomes["wrong"].passed and outcomes["wrong"].error_type == "AssertionError"


def test_train_data_overlap_names_the_tasks_in_the_training_set(tmp_path):
    train = tmp_path / "run" / "final"
    train.mkdir(parents=True)
    rows = [
        {"instruction": "Write a function.", "response": HE[3]["prompt"] + HE[3]["canonical_solution"]},
        {"instruction": "Reverse a string.", "response": "def rev(s):\n    return s[::-1]\n"},
        {"instruction": HE[10]["prompt"], "response": "..."},
    ]
    (train / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    from codealign.evaluate.overlap import train_overlap

    found = train_overlap(get_benchmark("humaneval"), tmp_path / "run")
    assert found["rows_checked"] == 3
    assert list(found["tasks"]) == [HE[3]["task_id"], HE[10]["task_id"]]
    assert found["tasks"][HE[3]["task_id"]]["rows"] == 1


def test_samples_run_in_the_sandbox_while_the_model_is_still_answering(tmp_path):
    import threading

    from codealign.cache import open_cache
    from codealign.evaluate.job import EvalSettings, evaluate_model
    from codealign.llm import BackendConfig, load_backend
    from codealign.sandbox import Sandbox

    tasks = tmp_path / "t.jsonl"
    tasks.write_text("".join(json.dumps({"task_id": f"t{i}", "prompt": f"def f{i}(x):\n",
                                         "tests": f"assert f{i}(1) == {i + 1}\n"}) + "\n" for i in range(12)))  # fmt: skip
    executed = threading.Event()
    held = []

    def answer(req, choice):
        i = int(req["prompt"].split("(")[0][5:])
        if i == 11:
            # The server holds the last answer until a sample has run; without streaming this would wait in vain.
            held.append(executed.wait(timeout=120))
        return f"    return x + {i}\n" if i % 2 == 0 else "    return x\n"

    with FakeOpenAI(model="m", responder=answer) as server:
        config = BackendConfig(type="openai", model="m", base_url=server.base_url, max_in_flight=1)
        with open_cache() as cache, Sandbox(workers=1, cache=cache) as sandbox, load_backend(config, cache) as backend:
            result = evaluate_model(get_benchmark(f"jsonl:{tasks}"), backend, sandbox, EvalSettings(ks=(1,)),
                                    on_executed=lambda s: executed.set())  # fmt: skip
    assert result.pass_at_k == {"pass@1": 0.5}
    assert held == [True]


def test_jsonl_tasks_in_other_languages_run_in_their_sandbox_runner(tmp_path):
    import shutil

    from codealign.sandbox import Sandbox

    rows = [
        {"task_id": "js", "language": "js", "prompt": "function inc(x) {\n",
         "tests": "if (inc(1) !== 2) { throw new Error('inc(1) should be 2'); }\n"},
        {"task_id": "cpp", "language": "c++", "prompt": "#include <cassert>\nint inc(int x) {\n",
         "tests": "int main() { assert(inc(1) == 2); return 0; }\n"},
    ]  # fmt: skip
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench = get_benchmark(f"jsonl:{tasks}")
    js, cpp = bench.tasks()
    assert (js.language, cpp.language) == ("javascript", "cpp")
    answers = [
        (js, "  return x + 1;\n}\n\nconsole.log(inc(1));\n", True),   # the stop sequence cuts the log line
        (js, "  return x;\n}\n", False),
        (cpp, "  return x + 1;\n}\n", True),
        (cpp, "  return x - 1;\n}\n", False),
    ]
    available = [a for a in answers if shutil.which({"javascript": "node", "cpp": "g++"}[a[0].language])]
    if not available:
        pytest.skip("neither node nor g++ is installed")
    limits = bench.limits(30.0, 4096)
    with Sandbox(workers=2, languages=sorted({t.language for t, _, _ in available})) as sandbox:
        programs = []
        for i, (task, text, _) in enumerate(available):
            stops = bench.stops(task)
            cut = min([text.find(s) for s in stops if s in text] or [len(text)])
            programs.append(bench.program(task, bench.from_completion(task, text[:cut]), limits, str(i)))
        outcomes = sandbox.run_all(programs)
    assert [o.passed for o in outcomes] == [right for _, _, right in available], [o.error for o in outcomes]
