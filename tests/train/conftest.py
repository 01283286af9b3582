"""Fixtures for training tests: the tiny model's tokenizer, a real codealign run directory, small configs."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("trl")
pytest.importorskip("peft")


@pytest.fixture(autouse=True)
def _offline_and_one_thread(monkeypatch):
    """No hub, and one torch thread: the tiny model gains nothing from two, and on a shared machine the second
    thread's spinning costs more than it gives. Subprocesses inherit the same through the environment."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_path)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """A real run directory: examples/demo.yaml through the scripted server (4 SFT rows, 2 DPO pairs)."""
    from codealign.cache import open_cache
    from codealign.config import load_config
    from codealign.pipeline import RunConfig, run_pipeline
    from codealign.testing.server import ScriptedServer

    root = tmp_path_factory.mktemp("demo-run")
    with ScriptedServer(log_path=root / "requests.jsonl") as server:
        overrides = [f"backend.base_url={server.url}", f"run_dir={root / 'run'}",
                     f"seeds.path={REPO / 'examples' / 'seeds.jsonl'}", "execution.timeout=1", "execution.workers=2"]
        config = load_config(RunConfig, REPO / "examples" / "demo.yaml", overrides)
        cache = open_cache(root / "cache")
        try:
            run_pipeline(config, cache, progress=False)
        finally:
            cache.close()
    return root / "run"


def config(model, output_dir, data, **options):
    """A TrainConfig for a tiny run: fast settings a test then overrides."""
    from codealign.train import TrainConfig

    base = {"model": str(model), "output_dir": str(output_dir), "data": data, "learning_rate": 3e-3,
            "batch_size": 4, "per_device_batch_size": 4, "epochs": 1, "eval_size": 0, "logging_steps": 1,
            "gradient_checkpointing": False, "progress": False, "optimizer": "adamw_torch", "warmup_ratio": 0.0}
    return TrainConfig.model_validate({**base, **options})


def write_jsonl(path, rows):
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
