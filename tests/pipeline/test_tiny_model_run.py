"""The whole pipeline on a tiny random model, in process: every stage runs, nothing passes, the funnel says why."""

import json

import pytest

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.pipeline import RunConfig, run_pipeline
from codealign.records import iter_jsonl
from tests.pipeline.conftest import REPO, SEEDS

pytestmark = pytest.mark.hf


def test_tiny_random_model_runs_every_stage_and_the_funnel_says_why_nothing_passed(tiny_model_path, tmp_path):
    overrides = [
        f"run_dir={tmp_path / 'run'}",
        f"seeds.path={SEEDS}",
        "seeds.limit=2",
        "backend.type=transformers",
        f"backend.model={tiny_model_path}",
        "backend.mode=completion",
        "backend.device=cpu",
        "method_options.concepts_shots=1",
        "method_options.instruction_shots=1",
        "method_options.response_samples=2",
        "method_options.max_tokens=24",
        "execution.timeout=2",
    ]
    config = load_config(RunConfig, REPO / "examples" / "quickstart.yaml", overrides)
    with open_cache(tmp_path / "cache") as cache:
        funnel = run_pipeline(config, cache, progress=False)

    stages = funnel["stages"]
    assert list(stages) == ["seeds", "concepts", "instruction", "response", "execute"]
    for name in stages:
        assert list((tmp_path / "run" / name).glob("*.done")), f"stage {name} left no finished shard"
    assert stages["seeds"]["out"] == 2 and stages["concepts"]["in"] == 2
    assert funnel["final"] == {"sft": 0, "dpo": 0}
    assert list(iter_jsonl(tmp_path / "run" / "final" / "sft.jsonl")) == []
    # Wherever the records ran out, the funnel names the reasons, and the counts add up.
    for name, stage in stages.items():
        if name != "seeds" and stage["in"] and not stage["out"]:
            assert stage["rejected"], f"{name} kept nothing and says nothing"
    if stages["response"]["out"]:
        kept_after = [step["out"] for step in funnel["selection"].values()]
        assert kept_after[-1] == 0
        first_empty = next(step for step in funnel["selection"].values() if step["out"] == 0)
        assert sum(first_empty["by_reason"].values()) == first_empty["in"]
    usage = json.loads((tmp_path / "run" / "usage.json").read_text())
    assert usage["this_invocation"]["backend"]["samples_generated"] > 0
