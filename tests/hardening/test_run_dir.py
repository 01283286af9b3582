"""The run directory: a finished run is marked by one file written last, a failed one never looks finished, one
run at a time holds it, a run that keeps nothing says so, and a model that cannot load leaves nothing behind."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.hardening.checks import assert_clean_failure, assert_no_noise
from tests.hardening.inputs import REPO, cli
from tests.llm.fake_openai import FakeOpenAI

SEEDS = REPO / "examples" / "seeds.jsonl"
FINAL = ["final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "report.html", "run.done"]


@pytest.fixture(scope="module")
def server():
    from codealign.testing.server import ScriptedServer

    with ScriptedServer() as s:
        yield s


def _argv(run_dir, url, cache, *extra):
    return ["run", str(REPO / "examples" / "demo.yaml"), "--set", f"backend.base_url={url}", "--set",
            f"run_dir={run_dir}", "--set", f"seeds.path={SEEDS}", "--set", "execution.timeout=1", "--set",
            "execution.workers=2", "--set", "measure.enabled=false", "--quiet", "--cache-dir", str(cache), *extra]  # fmt: skip


def test_a_run_that_fails_while_writing_its_final_files_leaves_none(server, tmp_path):
    run_dir, cache = tmp_path / "run", tmp_path / "cache"
    run_dir.mkdir()
    (run_dir / "rejects").write_text("a file where the run writes its rejects folder\n")
    res = cli(_argv(run_dir, server.url, cache))
    assert_clean_failure(res, 2, f"cannot write {run_dir / 'rejects'}")
    assert [name for name in FINAL if (run_dir / name).exists()] == []  # the shards stay, for the rerun
    assert (run_dir / "execute").is_dir()
    (run_dir / "rejects").unlink()
    res = cli(_argv(run_dir, server.url, cache))
    assert res.returncode == 0, res.stderr
    assert [name for name in FINAL if not (run_dir / name).exists()] == []
    done = json.loads((run_dir / "run.done").read_text())
    assert done["final"] == json.loads((run_dir / "funnel.json").read_text())["final"]
    assert f"finished: {run_dir / 'run.done'}" in res.stdout
    assert not (run_dir / ".lock").exists()


def test_one_run_at_a_time_and_a_stale_lock_is_taken_over(server, tmp_path):
    run_dir, cache = tmp_path / "run", tmp_path / "cache"
    with FakeOpenAI(model="scripted", faults=["hang"] * 500) as stuck:
        first = subprocess.Popen([sys.executable, "-m", "codealign", *_argv(run_dir, stuck.base_url, cache)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 120
        while not stuck.posts and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert stuck.posts, "the first run never asked the model"
        second = cli(_argv(run_dir, server.url, cache))
        line = assert_clean_failure(second, 2, f"{run_dir} is in use by another codealign run: pid {first.pid}")
        assert "wait for it or use another run_dir" in line
        os.killpg(first.pid, signal.SIGKILL)  # gone without a word: its lock stays behind
        first.communicate(timeout=60)
    assert (run_dir / ".lock").exists()
    third = cli(_argv(run_dir, server.url, cache))
    assert third.returncode == 0, third.stderr
    assert_no_noise(third.stdout + third.stderr)
    warnings = [ln for ln in third.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and f"took over the lock of a run that is gone (pid {first.pid}" in warnings[0]
    assert (run_dir / "run.done").exists() and not (run_dir / ".lock").exists()


def test_a_run_that_keeps_nothing_says_where_everything_went(tmp_path):
    # This model answers every prompt with a short hash: no concepts a task can be written from survive.
    with FakeOpenAI(model="scripted") as fake:
        res = cli(_argv(tmp_path / "run", fake.base_url, tmp_path / "cache"))
    assert res.returncode == 0, res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, res.stderr
    assert warnings[0].startswith("warning: the run kept nothing (0 SFT, 0 DPO): ")
    assert "removed all" in warnings[0] and "top reasons: " in warnings[0]


def test_cached_timeouts_run_again_only_when_asked(server, tmp_path):
    run_dir, cache = tmp_path / "run", tmp_path / "cache"
    first = cli(_argv(run_dir, server.url, cache))
    assert first.returncode == 0, first.stderr
    sft = (run_dir / "final" / "sft.jsonl").read_text()
    timeouts = json.loads((run_dir / "funnel.json").read_text())["stages"]["execute"]["rejected"]["timeout"]
    again = cli(_argv(run_dir, server.url, cache))
    assert "executions:" not in again.stdout  # every execution shard was finished: nothing ran, nothing looked up
    retried = cli(_argv(run_dir, server.url, cache, "--retry-timeouts"))
    assert retried.returncode == 0, retried.stderr
    assert f"({timeouts} cached timeouts run again)" in retried.stdout
    assert (run_dir / "final" / "sft.jsonl").read_text() == sft


def test_a_model_that_cannot_load_leaves_no_run_directory(no_hub, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(f"run_dir: {tmp_path / 'run'}\nseeds:\n  path: {SEEDS}\n"
                      "backend:\n  type: transformers\n  model: someone/some-model\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-m", "codealign", "run", str(config), "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True, env=no_hub, timeout=300)
    assert_clean_failure(res, 2, "model 'someone/some-model' is not a local folder and the Hugging Face hub cannot be "
                                 "reached")  # fmt: skip
    assert "Retrying" not in res.stderr
    assert not (tmp_path / "run").exists()
