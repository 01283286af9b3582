"""Exact resume: kill -9 a real `codealign run` at random moments, rerun it, get the files of an uninterrupted run."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

from codealign.testing.server import ScriptedServer, read_log
from tests.pipeline.conftest import REPO, demo_overrides

FINAL = ("final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "rejects/select.jsonl", "rejects/response.jsonl")


def command(server, run_dir, cache_dir):
    overrides = demo_overrides(server, run_dir, "shard_size=2")
    args = [sys.executable, "-m", "codealign", "run", str(REPO / "examples" / "demo.yaml"), "-q"]
    args += ["--cache-dir", str(cache_dir)]
    for item in overrides:
        args += ["--set", item]
    return args


def complete(args):
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done


def stored_answers(cache_dir):
    """How many sampled answers the cache holds (one per single-sample request)."""
    db = sqlite3.connect(cache_dir / "cache.sqlite3")
    try:
        return db.execute("SELECT COUNT(*) FROM entries WHERE ns = 'llm'").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the cache was created
        return 0
    finally:
        db.close()


def request_key(entry):
    return entry["prompt_hash"], entry["seed"], entry["n"]


def test_kill_9_at_random_points_then_rerun(tmp_path):
    with ScriptedServer(log_path=tmp_path / "reference.jsonl") as server:
        complete(command(server, tmp_path / "reference", tmp_path / "cache-reference"))
    reference = read_log(tmp_path / "reference.jsonl")

    rng = random.Random(20240607)
    cache = tmp_path / "cache-killed"
    unsaved = []  # per kill: requests answered before it whose answers were not yet in the cache
    with ScriptedServer(log_path=tmp_path / "killed.jsonl") as server:
        args = command(server, tmp_path / "killed", cache)
        # Kill during the concepts, during the responses, and during execution, each at a random point.
        first, second = rng.randint(1, 6), rng.randint(16, 30)
        moments = [
            lambda: len(read_log(server.log_path)) >= first,
            lambda: len(read_log(server.log_path)) >= second,
            lambda: (tmp_path / "killed" / "execute").exists(),
        ]
        for reached in moments:
            proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 60
            while not reached() and proc.poll() is None and time.time() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.3))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            log = read_log(tmp_path / "killed.jsonl")
            answered = {request_key(e) for e in log}
            unsaved.append((len(log), answered, len(answered) - stored_answers(cache)))
        complete(args)
    resumed = read_log(tmp_path / "killed.jsonl")

    for name in FINAL:
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "reference" / name).read_bytes(), name
    # Every request of the uninterrupted run was asked, and nothing else.
    assert set(map(request_key, resumed)) == set(map(request_key, reference))
    # An answer stored in the cache is never asked for again: after each kill, the requests asked again are at most
    # those answered too late to be stored before the kill.
    ends = [position for position, _, _ in unsaved[1:]] + [len(resumed)]
    for (position, answered, lost), end in zip(unsaved, ends, strict=True):
        asked_again = {request_key(e) for e in resumed[position:end] if request_key(e) in answered}
        assert len(asked_again) <= lost, (position, len(asked_again), lost)
    # Records are neither lost nor duplicated: each stage's ids are unique and match the reference run.
    for stage in ("seeds", "concepts", "instruction", "response", "execute"):
        ids, ref = stage_ids(tmp_path / "killed", stage), stage_ids(tmp_path / "reference", stage)
        assert ids == ref and len(set(ids)) == len(ids), stage


def stage_ids(run_dir, stage):
    rows = [json.loads(line) for f in sorted((run_dir / stage).glob("*[0-9].jsonl")) for line in f.read_text().splitlines()]
    return [row.get("id") or row["sample"] for row in rows]


def test_ctrl_c_stops_cleanly_and_the_rerun_finishes(tmp_path):
    with ScriptedServer(log_path=tmp_path / "log.jsonl") as server:
        args = command(server, tmp_path / "run", tmp_path / "cache")
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while not (tmp_path / "run" / "response").exists() and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "rerun the same command" in err
        assert "Traceback" not in err
        complete(args)
    assert (tmp_path / "run" / "final" / "sft.jsonl").read_text().count("\n") == 4


def test_cli_help_and_one_line_errors(tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    help_text = subprocess.run(
        [sys.executable, "-m", "codealign", "run", "--help"], capture_output=True, text=True, env=env
    )
    assert help_text.returncode == 0
    assert "--set" in help_text.stdout and "continues where it stopped" in help_text.stdout
    config = tmp_path / "run.yaml"
    config.write_text(
        f"run_dir: {tmp_path / 'run'}\nseeds:\n  path: {tmp_path / 'missing.jsonl'}\n"
        "backend:\n  type: openai\n  model: m\n  base_url: http://127.0.0.1:9/v1\n"
    )
    done = subprocess.run([sys.executable, "-m", "codealign", "run", str(config)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "seeds file not found" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "codealign", "run", str(config), "--set", "execution.timout=3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "execution.timout: unknown key" in done.stderr
