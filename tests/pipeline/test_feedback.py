"""Execution feedback in `codealign run` against the scripted server: tests that game a wrong solution never reach
the final data."""

import json
import subprocess
import sys

from codealign.testing.server import read_log
from tests.pipeline.conftest import REPO

# The scripted server answers this seed with one `add` task and four responses: a correct one, and a wrong
# `add` (a - b) whose tests cannot catch it in each of the three ways of issue 14.
ADD_SEED = 'def sum_pair(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'
GAMED = {"gamed_or_true": "asserts_cannot_fail", "gamed_swallowed": "assert_failure_swallowed",
         "gamed_not_none": "type_checks_only"}  # fmt: skip


def write_config(tmp_path, server, **extra):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"seed": ADD_SEED}) + "\n")
    config = {
        "run_dir": str(tmp_path / "run"),
        "seeds": {"path": str(seeds)},
        "method": "selfcodealign",
        "method_options": {"response_samples": 8},
        "backend": {"type": "openai", "base_url": server.url, "model": "scripted", "mode": "completion"},
        "execution": {"timeout": 3, "workers": 2},
        **extra,
    }
    path = tmp_path / "config.json"  # JSON is YAML
    path.write_text(json.dumps(config))
    return path


def codealign_run(config, tmp_path, *sets, run_dir="run"):
    run_dir = tmp_path / run_dir
    args = [sys.executable, "-m", "codealign", "run", str(config), "-q", "--cache-dir", str(tmp_path / "cache")]
    for item in [f"run_dir={run_dir}", *sets]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr
    sft = [json.loads(line) for line in (run_dir / "final" / "sft.jsonl").read_text().splitlines()]
    return sft, json.loads((run_dir / "funnel.json").read_text())


def code_of(row):
    return row["response"].split("```python\n")[1].split("```")[0]


def test_a_wrong_add_with_gamed_tests_never_reaches_the_final_data(scripted_server, tmp_path):
    config = write_config(tmp_path, scripted_server)
    sft, funnel = codealign_run(config, tmp_path)
    kinds = [k for entry in read_log(scripted_server.log_path) if entry["stage"] == "response" for k in entry["kinds"]]
    assert set(kinds) == {*GAMED, "correct"}
    # Every gamed response passes in the sandbox: only the gate stands between it and the data.
    assert funnel["stages"]["execute"]["out"] == len(kinds)
    rejected = funnel["selection"]["test_quality"]["by_reason"]
    assert rejected == {reason: kinds.count(kind) for kind, reason in GAMED.items()}
    assert [code_of(row) for row in sft] == ["def add(a, b):\n    return a + b\n"]

    # Faithful mode is the paper's recipe: exit status 0 is enough, so a wrong `add` stays among the candidates.
    faithful_sft, faithful = codealign_run(config, tmp_path, "faithful=true", run_dir="faithful")
    assert "test_quality" not in faithful["selection"]
    assert faithful["selection"]["one_per_instruction"]["in"] == len(kinds)
