"""The experiment form: every method on the same seeds and model, measured, and compared in one report."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codealign.config import load_config
from codealign.errors import ConfigError
from codealign.pipeline.experiment import ExperimentConfig
from codealign.testing.server import ScriptedServer, read_log
from tests.pipeline.conftest import REPO, SEEDS, demo_overrides

EXAMPLE = REPO / "examples" / "compare-methods.yaml"
LABELS = ["selfcodealign", "oss-instruct", "evol-instruct", "self-instruct", "distill"]


def codealign(*args, timeout=300):
    done = subprocess.run([sys.executable, "-m", "codealign", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, env={**os.environ, "COLUMNS": "220"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_every_method_side_by_side_in_one_report(scripted_server, tmp_path):
    run_dir = tmp_path / "compare"
    args = ["run", str(EXAMPLE), "-q", "--cache-dir", str(tmp_path / "cache"),
            "--set", f"run_dir={run_dir}", "--set", f"seeds.path={SEEDS}", "--set", f"backend.base_url={scripted_server.url}",
            "--set", f"teacher.base_url={scripted_server.url}", "--set", "execution.workers=2"]  # fmt: skip
    done = codealign(*args)
    for label in LABELS:
        assert label in done.stdout  # the terminal table names every method
    summary = json.loads((run_dir / "compare" / "summary.json").read_text())
    rows = {row["label"]: row for row in summary["methods"]}
    assert list(rows) == LABELS
    for label, row in rows.items():
        assert row["seeds"] == 7 and row["sft"] > 0 and 0 < row["sample_pass_rate"] <= 1, label
        assert row["yield_per_seed"] == round(row["sft"] / 7, 4)
        for figure in ("vendi.code.vendi.sample", "instruction_size.words", "code_size.loc", "radon.cyclomatic"):
            assert isinstance(row[figure], (int, float)), (label, figure)
        funnel = json.loads((run_dir / label / "funnel.json").read_text())
        assert row["sft"] == funnel["final"]["sft"]
        metrics = json.loads((run_dir / label / "measure" / "metrics.json").read_text())
        assert metrics["dataset"]["records"] == row["sft"]
        execution = metrics["metrics"]["execution"]
        assert execution["values"]["executed"] == row["sft"] and execution["values"]["pass_rate"] == 1.0
        assert "seconds" not in execution["distributions"]  # every outcome came from the run's own executions
        assert (run_dir / label / "measure" / "report.html").exists()
    assert rows["distill"]["sample_pass_rate"] == 1.0  # the scripted teacher answers correctly

    html = (run_dir / "compare" / "compare.html").read_text()
    assert "Quality–diversity trade-off" in html and "<h2>Funnels</h2>" in html
    for label in LABELS:
        assert f"<h3>{label}</h3>" in html
    assert "funnel.sample_pass_rate" in html and "round 3" in html  # the scatter's y axis; evol's rounds
    compare = json.loads((run_dir / "compare" / "compare.json").read_text())
    assert compare["datasets"] == LABELS and compare["y"] == "funnel.sample_pass_rate"
    assert compare["x"] == "vendi.code.vendi.sample"
    pass_rates = next(r for r in compare["rows"] if r["figure"] == "sample_pass_rate")["values"]
    assert pass_rates == [rows[label]["sample_pass_rate"] for label in LABELS]

    # A second run of the experiment asks the model nothing and gives the same figures.
    asked = len(read_log(scripted_server.log_path))
    codealign(*args)
    assert len(read_log(scripted_server.log_path)) == asked
    again = json.loads((run_dir / "compare" / "summary.json").read_text())
    assert again == summary


def test_experiment_config_errors_name_the_method(tmp_path):
    base = [f"run_dir={tmp_path}", f"seeds.path={SEEDS}"]
    with pytest.raises(ConfigError, match=r"methods\.evol-instruct.*rounds"):
        load_config(ExperimentConfig, EXAMPLE, [*base, "methods.evol-instruct.method_options.rounds=0"])
    with pytest.raises(ConfigError, match=r"unknown method 'wizard'"):
        load_config(ExperimentConfig, EXAMPLE, [*base, "methods.wizard={}"])
    with pytest.raises(ConfigError, match="answers with a teacher model"):
        load_config(ExperimentConfig, EXAMPLE, [*base, "teacher=null"])
    config = load_config(ExperimentConfig, EXAMPLE, [*base, "methods.evol-2={method: evol-instruct, method_options: {rounds: 2}}"])
    assert config.run_config("evol-2").method == "evol-instruct" and config.run_config("evol-2").run_dir == str(tmp_path / "evol-2")


def test_self_instruct_resumes_exactly_after_kill_9(tmp_path):
    """The bootstrap's pool grows shard by shard; a run killed in the middle of it keeps exactly the same tasks."""
    final = ("final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "rejects/bootstrap.jsonl", "bootstrap/00000.jsonl",
             "bootstrap/00001.jsonl", "bootstrap/00002.jsonl", "bootstrap/00003.jsonl")  # fmt: skip

    def command(server, run_dir, cache):
        sets = demo_overrides(server, run_dir, "shard_size=2", "method=self-instruct",
                              "method_options={response_samples: 2}")  # fmt: skip
        args = [sys.executable, "-m", "codealign", "run", str(REPO / "examples" / "demo.yaml"), "-q", "--cache-dir", str(cache)]
        for item in sets:
            args += ["--set", item]
        return args

    with ScriptedServer() as server:
        subprocess.run(command(server, tmp_path / "reference", tmp_path / "c1"), check=True, cwd=REPO, capture_output=True)
        args = command(server, tmp_path / "killed", tmp_path / "c2")
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not (tmp_path / "killed" / "bootstrap" / "00001.done").exists() and time.time() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not (tmp_path / "killed" / "final" / "sft.jsonl").exists()
        subprocess.run(args, check=True, cwd=REPO, capture_output=True)
    for name in final:
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "reference" / name).read_bytes(), name
