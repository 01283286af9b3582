"""The whole pipeline on a tiny random model, in process: every stage runs, nothing passes, the funnel says why."""

from pathlib import Path

import pytest
import yaml

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.llm.backend import BackendConfig
from codealign.pipeline import RunConfig, run_pipeline
from codealign.records import iter_jsonl
from codealign.registry import METHODS
from codealign.runs import flatten
from codealign.select import SelectionOptions
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
    usage = yaml.safe_load((tmp_path / "run" / "usage.json").read_text())
    assert usage["this_invocation"]["backend"]["samples_generated"] > 0


def test_annotated_example_shows_every_option():
    shown = set(flatten(yaml.safe_load((REPO / "examples" / "selfcodealign.yaml").read_text())))
    options = {f"{name}" for name in RunConfig.model_fields}
    options |= {f"seeds.{f}" for f in RunConfig.model_fields["seeds"].annotation.model_fields}
    options |= {f"execution.{f}" for f in RunConfig.model_fields["execution"].annotation.model_fields}
    options |= {f"backend.{f}" for f in BackendConfig.model_fields}
    options |= {f"method_options.{f}" for f in METHODS.get("selfcodealign").Options.model_fields}
    options |= {f"selection.{f}" for f in SelectionOptions.model_fields}
    sections = {"seeds", "execution", "backend", "method_options", "selection"}
    assert options - sections - shown == set()
    assert shown - options == set()
    assert Path(REPO / "examples" / "quickstart.yaml").exists()
