"""`codealign run` with `method_options.language` set to each sandbox language, against the scripted server: tasks,
responses and tests in that language, executed by its runner, selected, and written out with their language."""

import json
import subprocess
import sys

import pytest

from codealign.records import iter_jsonl
from codealign.registry import LANGUAGES
from codealign.synth.code import code_blocks
from codealign.testing.server import read_log
from tests.pipeline.conftest import REPO, demo_overrides

DEMO = REPO / "examples" / "demo.yaml"
OUTCOME_OF = {"correct": "passed", "wrong": "failed", "syntax_error": "syntax"}


def _installed(language: str):
    marks = [] if language == "rust" else [pytest.mark.slow]  # one language in the default run, all in the slow one
    if not LANGUAGES.get(language)().available():
        marks.append(pytest.mark.skip(reason=LANGUAGES.get(language)().missing()))
    return pytest.param(language, marks=marks)


@pytest.mark.parametrize("language", [_installed(x) for x in ("rust", "cpp", "java", "go", "javascript",
                                                               "typescript", "shell")])  # fmt: skip
def test_run_in_another_language(scripted_server, tmp_path, language):
    run_dir = tmp_path / "run"
    sets = demo_overrides(scripted_server, run_dir, f"method_options.language={language}", "execution.timeout=10")
    done = subprocess.run(
        [sys.executable, "-m", "codealign", "run", str(DEMO), *[a for s in sets for a in ("--set", s)],
         "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    served = [entry for entry in read_log(scripted_server.log_path) if entry["stage"] == "response"]
    assert served and {entry["scenario"] for entry in served} == {f"sum_even_{language}"}
    executions = list(iter_jsonl(run_dir / "execute" / "00000.jsonl"))
    kinds = [k for entry in served for k in entry["kinds"]]
    got = sorted(e["outcome"]["status"] for e in executions)
    assert got == sorted(OUTCOME_OF[k] for k in kinds), (got, kinds)  # each runner's verdict on each response
    compiled = language not in ("javascript", "shell")
    assert all((e["outcome"]["compile_duration"] is not None) == compiled for e in executions)
    sft = list(iter_jsonl(run_dir / "final" / "sft.jsonl"))
    assert len(sft) == 1 and sft[0]["language"] == language  # six seeds, one task text: one example kept
    assert code_blocks(sft[0]["response"], language) and code_blocks(sft[0]["tests"], language)
    pairs = list(iter_jsonl(run_dir / "final" / "dpo.jsonl"))
    assert pairs and all(p["chosen"] != p["rejected"] for p in pairs)
    funnel = json.loads((run_dir / "funnel.json").read_text())
    assert "passing" in json.dumps(funnel)
