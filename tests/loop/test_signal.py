"""The chain carries signal: `codealign train` on codealign-format tasks (instruction, solution, tests), then
`codealign evaluate --model` on those same tasks as a `jsonl:` benchmark. The tiny model starts random (pass@1 0);
after training, its greedy answers pass the tasks' tests in the sandbox. This goes through the instruction format
and its loss mask, the saved chat template, generation with the trained weights, extraction of the program from
the answer and the sandbox, all at once: a break anywhere in the chain brings pass@1 back to 0.
"""

import json

import pytest
import yaml
from typer.testing import CliRunner

from codealign.cli import app

pytestmark = pytest.mark.timeout(1200)  # two evaluations and a training: minutes on a loaded machine

# (task, instruction, solution, tests): the format of a codealign run's final/sft.jsonl.
TASKS = [
    ("add", "Write a function add(a, b) that returns the sum of a and b.", "def add(a, b):\n    return a + b\n",
     "assert add(1, 2) == 3\nassert add(-4, 4) == 0\n"),
    ("sub", "Write a function sub(a, b) that returns a minus b.", "def sub(a, b):\n    return a - b\n",
     "assert sub(5, 2) == 3\nassert sub(0, 4) == -4\n"),
    ("mul", "Write a function mul(a, b) that returns the product of a and b.", "def mul(a, b):\n    return a * b\n",
     "assert mul(3, 4) == 12\nassert mul(-2, 5) == -10\n"),
    ("square", "Write a function square(x) that returns x squared.", "def square(x):\n    return x * x\n",
     "assert square(3) == 9\nassert square(-2) == 4\n"),
    ("is_even", "Write a function is_even(n) that tells whether n is even.", "def is_even(n):\n    return n % 2 == 0\n",
     "assert is_even(4)\nassert not is_even(7)\n"),
    ("first", "Write a function first(items) that returns the first element of a list.",
     "def first(items):\n    return items[0]\n", "assert first([3, 1]) == 3\nassert first(['a']) == 'a'\n"),
    ("last", "Write a function last(items) that returns the last element of a list.",
     "def last(items):\n    return items[-1]\n", "assert last([3, 1]) == 1\nassert last(['a']) == 'a'\n"),
    ("negate", "Write a function negate(x) that returns -x.", "def negate(x):\n    return -x\n",
     "assert negate(3) == -3\nassert negate(-1) == 1\n"),
]  # fmt: skip


def _evaluate(model, tasks, out):
    args = ["evaluate", "--benchmark", f"jsonl:{tasks}", "--model", str(model), "--mode", "chat",
            "--max-tokens", "40", "-k", "1", "--workers", "2", "-o", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(out.with_name(out.stem + ".summary.json").read_text())
    rows = {r["task_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    return summary["pass_at_k"]["pass@1"], rows


def test_training_on_tasks_makes_the_model_pass_them(tiny_model_path, tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"task_id": t, "instruction": i, "response": f"```python\n{s}```", "tests": x})
                             + "\n" for t, i, s, x in TASKS))  # fmt: skip
    before, _ = _evaluate(tiny_model_path, tasks, tmp_path / "before" / "r.jsonl")
    assert before == 0.0

    config = {"model": str(tiny_model_path), "output_dir": str(tmp_path / "model"), "data": str(tasks),
              "learning_rate": 3e-3, "max_steps": 80, "batch_size": 8, "per_device_batch_size": 8,
              "optimizer": "adamw_torch", "scheduler": "constant", "warmup_ratio": 0.0, "eval_size": 0,
              "gradient_checkpointing": False, "logging_steps": 10, "save_steps": 1000}  # fmt: skip
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
    trained = CliRunner().invoke(app, ["train", str(tmp_path / "train.yaml"), "-q"], catch_exceptions=False)
    assert trained.exit_code == 0, trained.output

    after, rows = _evaluate(tmp_path / "model", tasks, tmp_path / "after" / "r.jsonl")
    assert after >= 0.5, {t: (r["outcome"], r["raw"]) for t, r in rows.items()}
    # What passed is the solution the model was taught, written by the model and extracted from its answer.
    solutions = {t: s for t, _, s, _ in TASKS}
    passed = [t for t, r in rows.items() if r["passed"]]
    assert all(solutions[t].strip() in r["program"] for t, r in rows.items() if t in passed)
    assert all("```python" in rows[t]["raw"] for t in passed)
