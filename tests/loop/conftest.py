"""Fixtures for loop tests: loop configs written by the tests, around the scripted server and the tiny model."""

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "examples" / "seeds.jsonl"
TASKS = REPO / "examples" / "evaluate_tasks.jsonl"

pytest.importorskip("trl")
pytest.importorskip("peft")

# No hub and one torch thread, as for the training tests (an autouse fixture, registered here by the import).
from tests.serving import free_port  # noqa: E402
from tests.train.conftest import _offline_and_one_thread  # noqa: E402, F401

# Sized for the tiny model on one CPU thread: a few optimizer steps, checkpoints to resume from.
FAST_TRAIN = {"learning_rate": 3e-3, "max_steps": 12, "batch_size": 4, "per_device_batch_size": 4,
              "optimizer": "adamw_torch", "scheduler": "constant", "warmup_ratio": 0.0, "eval_size": 0,
              "gradient_checkpointing": False, "logging_steps": 2, "save_steps": 4}  # fmt: skip
FAST_DPO = {"learning_rate": 1e-4, "max_steps": 2, "batch_size": 2, "per_device_batch_size": 2, "eval_size": 0,
            "gradient_checkpointing": False, "logging_steps": 1}  # fmt: skip


def scripted_loop(tmp_path: Path, model: Path, rounds: int = 2, **extra) -> dict:
    """A loop whose data comes from the scripted server, which the loop starts on each round's model."""
    port = free_port()
    config = {
        "loop_dir": str(tmp_path / "loop"),
        "rounds": rounds,
        "base_model": str(model),
        "run": {
            "seeds": {"path": str(SEEDS)},
            "method_options": {"response_samples": 4},
            "backend": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": "unused",
                        "mode": "completion", "max_in_flight": 4},
            "execution": {"timeout": 2, "memory_mb": 1024, "workers": 2},
        },
        "server": {"command": f"{{python}} -m codealign.testing --host {{host}} --port {{port}} --model {{model}} "
                              f"--log {tmp_path / 'requests.jsonl'}", "ready_timeout": 120, "stop_timeout": 10},
        "train": dict(FAST_TRAIN),
        "evaluate": {"backend": {"type": "transformers", "device": "cpu"}, "benchmarks": [f"jsonl:{TASKS}"],
                     "max_tokens": 24, "ks": [1], "workers": 2},
    }  # fmt: skip
    for key, value in extra.items():
        config[key] = value
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def loop_command(config_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "codealign", "loop", str(config_path), "-q", *args]


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
