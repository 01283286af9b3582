"""kill -9 in the middle of training, then the same command: it continues from the last whole checkpoint and ends at
the step count of an uninterrupted run, with every logged step once. Also under `accelerate launch`."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.train.conftest import write_jsonl


def write_config(path, **cfg):
    path.write_text(yaml.safe_dump(cfg))
    return path


def base_config(tiny_model_path, tmp_path, **extra):
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": f"Return {i}.", "response": f"def f():\n    return {i}\n"}
                                               for i in range(40)])  # fmt: skip
    return {"model": str(tiny_model_path), "output_dir": str(tmp_path / "out"), "data": str(data), "eval_size": 0,
            "learning_rate": 1e-3, "optimizer": "adamw_torch", "batch_size": 4, "per_device_batch_size": 4,
            "gradient_checkpointing": False, "logging_steps": 5, **extra}  # fmt: skip


def env():
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.timeout(1800)  # two real training processes; generous for a loaded machine
def test_kill_9_mid_training_then_rerun_ends_at_the_same_step(tiny_model_path, tmp_path):
    cfg = write_config(tmp_path / "train.yaml", **base_config(tiny_model_path, tmp_path, epochs=12, save_steps=10))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "codealign", "train", str(cfg), "-q"]
    with (tmp_path / "first.log").open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env(), start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not list(out.glob("checkpoints/checkpoint-*/trainer_state.json")):
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "train_summary.json").exists()  # killed before the end (120 steps)
    whole = sorted(out.glob("checkpoints/checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[-1]
    # A checkpoint cut short by the kill: a later step, a model file, a trainer state that does not parse.
    step = int(whole.name.split("-")[1])
    partial = out / "checkpoints" / f"checkpoint-{step + 10}"
    if not partial.exists():
        shutil.copytree(whole, partial)
        (partial / "trainer_state.json").write_text('{"global_step": ')

    again = subprocess.run(command, capture_output=True, text=True, env=env(), timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    found = re.search(r"resuming from checkpoint-(\d+)", again.stderr)
    assert found, again.stderr[-2000:]
    resumed = int(found.group(1))
    assert resumed == step and not partial.exists()  # the cut checkpoint was skipped and removed
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["results"]["steps"] == 120  # 40 examples / batch 4 x 12 epochs, as without the kill
    assert summary["results"]["resumed_from"] == resumed
    logged = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]  # fmt: skip
    assert logged == [1, *range(5, 121, 5)]  # each logged step exactly once, across both runs
    assert not (out / "checkpoints").exists()


@pytest.mark.timeout(900)
def test_accelerate_launch_with_one_cpu_process(tiny_model_path, tmp_path):
    cfg = write_config(tmp_path / "train.yaml", **base_config(tiny_model_path, tmp_path, epochs=1))
    launcher = shutil.which("accelerate", path=os.path.dirname(sys.executable)) or "accelerate"
    res = subprocess.run(
        [launcher, "launch", "--cpu", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
         "--dynamo_backend", "no", "-m", "codealign", "train", str(cfg), "-q"],
        capture_output=True, text=True, env=env(), timeout=900,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["results"]["steps"] == 10 and summary["batch"]["processes"] == 1
    assert (tmp_path / "out" / "model.safetensors").is_file()
