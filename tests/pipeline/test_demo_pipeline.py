"""The whole pipeline against the scripted server: the funnel must be exactly what the model's outputs imply."""

import json
import re
from collections import Counter

import pytest
import yaml

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.errors import BackendError, ConfigError
from codealign.llm.backend import BackendConfig
from codealign.pipeline import RunConfig, run_pipeline
from codealign.records import iter_jsonl
from codealign.registry import METHODS
from codealign.runs import flatten
from codealign.select import SelectionOptions
from codealign.testing.server import read_log
from tests.pipeline.conftest import REPO, demo_overrides

DEMO = REPO / "examples" / "demo.yaml"
# What generation, the sandbox and selection must make of each kind of scripted response.
GENERATION_REJECT = {"rambles": "truncated at max_tokens", "malformed": "no_tests_split"}
NOT_RUN = {"placeholder": "format:placeholder", "tests_without_assert": "format:no_assert"}
EXECUTED = {
    "correct": "passed",
    "trivial_tests": "passed",
    "wrong": "failed",
    "escapes_sandbox": "failed",
    "loops_forever": "timeout",
    "syntax_error": "syntax",
}


def run(server, tmp_path, *extra):
    config = load_config(RunConfig, DEMO, demo_overrides(server, tmp_path / "run", *extra))
    cache = open_cache(tmp_path / "cache")
    try:
        return run_pipeline(config, cache, progress=False)
    finally:
        cache.close()


def served_kinds(server):
    return Counter(k for entry in read_log(server.log_path) if entry["stage"] == "response" for k in entry["kinds"])


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_funnel_is_exactly_what_the_model_wrote(scripted_server, tmp_path, mode):
    funnel = run(scripted_server, tmp_path, f"backend.mode={mode}")
    paths = {entry["path"] for entry in read_log(scripted_server.log_path)}
    assert paths == {"/v1/completions" if mode == "completion" else "/v1/chat/completions"}
    kinds = served_kinds(scripted_server)
    # The seven seeds exercise every kind of output the server has.
    assert set(kinds) == set(GENERATION_REJECT) | set(NOT_RUN) | set(EXECUTED)
    stages = funnel["stages"]
    assert stages["seeds"] == {"in": 7, "out": 7, "rejected": {}}
    # The model wrote no concepts for the clamp() seed; that seed stops there, with its reason.
    assert stages["concepts"] == {"in": 7, "out": 6, "rejected": {"no_concepts": 1}}
    assert stages["instruction"] == {"in": 6, "out": 6, "rejected": {}}
    assert sum(kinds.values()) == 6 * 4
    gen_rejects = Counter(GENERATION_REJECT[k] for k in kinds.elements() if k in GENERATION_REJECT)
    assert stages["response"] == {"in": 6, "out": 24 - sum(gen_rejects.values()), "rejected": dict(gen_rejects)}
    statuses = Counter(EXECUTED[k] for k in kinds.elements() if k in EXECUTED)
    not_run = Counter(NOT_RUN[k] for k in kinds.elements() if k in NOT_RUN)
    assert stages["execute"]["out"] == statuses["passed"]
    expected_rejects = {**{s: c for s, c in statuses.items() if s != "passed"}, **{f"not run: {r}": c for r, c in not_run.items()}}
    assert stages["execute"]["rejected"] == expected_rejects

    selection = funnel["selection"]
    assert selection["format"]["by_reason"] == dict(not_run)
    assert selection["passing"]["by_reason"] == {s: c for s, c in statuses.items() if s != "passed"}
    assert selection["test_quality"]["by_reason"] == {"asserts_cannot_fail": kinds["trivial_tests"]}
    assert selection["one_per_instruction"]["out"] == 6  # every task got at least one correct response
    assert selection["too_long"]["by_reason"] == {"too_long": 1}  # the invoice task runs to 280 words
    assert selection["diversity"]["by_reason"] == {"duplicate_names": 1}  # two tasks both ask for moving_average
    assert funnel["final"]["sft"] == 4

    run_dir = tmp_path / "run"
    sft = list(iter_jsonl(run_dir / "final" / "sft.jsonl"))
    defined = sorted(re.search(r"(?:def|class) (\w+)", row["response"]).group(1) for row in sft)
    assert defined == ["LRUCache", "moving_average", "parse_config", "word_frequencies"]
    seed_ids = {json.loads(line)["id"] for line in (run_dir / "seeds" / "00000.jsonl").read_text().splitlines()}
    for row in sft:
        assert "assert" in row["tests"] and "assert" not in row["response"]  # tests live in their own field
        assert row["lineage"]["seed"] in seed_ids
        assert {"seed", "concepts", "instruction", "sample", "sample_index"} <= set(row["lineage"])
        assert row["lineage"]["execution"]["status"] == "passed"
        assert len(row["lineage"]["execution"]["key"]) == 64
        assert row["provenance"]["response"]["method"] == "selfcodealign"
        assert row["provenance"]["response"]["model"] == "scripted"

    dpo = list(iter_jsonl(run_dir / "final" / "dpo.jsonl"))
    kept = {row["instruction"] for row in sft}
    assert dpo and all(row["prompt"] in kept and row["chosen"] != row["rejected"] for row in dpo)
    # The LRU and config-parser tasks both have executed failures (a sandbox escape, a loop, wrong code).
    assert {"LRUCache", "parse_config"} <= {re.search(r"(?:def|class) (\w+)", r["chosen"]).group(1) for r in dpo}

    rejects = Counter(row["reason"] for row in iter_jsonl(run_dir / "rejects" / "response.jsonl"))
    assert rejects == gen_rejects
    assert all(row["raw"] for row in iter_jsonl(run_dir / "rejects" / "response.jsonl"))
    assert len(list(iter_jsonl(run_dir / "rejects" / "select.jsonl"))) == stages["response"]["out"] - 4
    by_category = funnel["pass_rate"]["category"]
    assert sum(row["samples"] for row in by_category.values()) == stages["response"]["out"]
    assert sum(row["passed"] for row in by_category.values()) == statuses["passed"]


def test_rerun_asks_nothing_and_selection_options_may_change(scripted_server, tmp_path):
    run(scripted_server, tmp_path)
    asked = len(read_log(scripted_server.log_path))
    final = tmp_path / "run" / "final" / "sft.jsonl"
    first = final.read_bytes()

    run(scripted_server, tmp_path)
    assert len(read_log(scripted_server.log_path)) == asked
    assert final.read_bytes() == first

    # faithful mode drops the test-quality gate; only selection runs again, nothing is asked of the model.
    funnel = run(scripted_server, tmp_path, "faithful=true")
    assert len(read_log(scripted_server.log_path)) == asked
    assert "test_quality" not in funnel["selection"]


def test_a_run_directory_refuses_a_different_model(scripted_server, tmp_path):
    run(scripted_server, tmp_path, "seeds.limit=1")
    with pytest.raises(ConfigError, match=r"backend\.model"):
        run(scripted_server, tmp_path, "seeds.limit=1", "backend.model=other")


def test_minimal_config_from_the_docs_and_unknown_keys(tmp_path):
    minimal = tmp_path / "run.yaml"
    minimal.write_text(
        "run_dir: runs/demo\nseeds:\n  path: seeds.jsonl\nmethod: selfcodealign\nbackend:\n  type: openai\n"
        "  base_url: http://127.0.0.1:8000/v1\n  model: bigcode/starcoder2-15b\n  mode: completion\n"
    )
    config = load_config(RunConfig, minimal)
    assert config.method_options["response_samples"] == 10
    assert config.method_options["temperature"] == 0.7
    assert config.execution.timeout == 10 and config.execution.memory_mb == 4096
    assert config.selection["test_quality_gate"] is True
    assert load_config(RunConfig, minimal, ["faithful=true"]).selection_options().test_quality_gate is False
    with pytest.raises(ConfigError, match=r"backend\.modle: unknown key"):
        load_config(RunConfig, minimal, ["backend.modle=x"])
    with pytest.raises(ConfigError, match=r"method_options.*samplez"):
        load_config(RunConfig, minimal, ["method_options.samplez=3"])


def test_bad_seed_lines_are_reported_and_skipped(scripted_server, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    good = (REPO / "examples" / "seeds.jsonl").read_text().splitlines()
    seeds.write_text("\n".join([good[0], "{not json", '{"code": "x"}', good[0], good[2]]) + "\n")
    funnel = run(scripted_server, tmp_path, f"seeds.path={seeds}")
    assert funnel["stages"]["seeds"] == {
        "in": 5,
        "out": 2,
        "rejected": {"duplicate seed": 1, "invalid JSON": 1, "no 'seed' text": 1},
    }
    lines = {row["line"]: row["reason"] for row in iter_jsonl(tmp_path / "run" / "rejects" / "seeds.jsonl")}
    assert sorted(lines) == [2, 3, 4]
    assert funnel["stages"]["concepts"]["in"] == 2  # the good seeds go on


def test_a_request_that_always_fails_stops_the_run_unless_told_to_skip_it(scripted_server, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    good = (REPO / "examples" / "seeds.jsonl").read_text().splitlines()[0]
    bad = json.dumps({"seed": "def broken(x):\n    # SCRIPTED-SERVER-ERROR\n    return x\n"})
    seeds.write_text(f"{good}\n{bad}\n")
    args = (f"seeds.path={seeds}", "backend.max_retries=0")
    with pytest.raises(BackendError, match="rerun the same command"):
        run(scripted_server, tmp_path, *args)
    assert not (tmp_path / "run" / "concepts" / "00000.done").exists()

    funnel = run(scripted_server, tmp_path, *args, "skip_failed_requests=true")
    assert funnel["stages"]["concepts"] == {"in": 2, "out": 1, "rejected": {"backend error": 1}}
    assert funnel["stages"]["instruction"]["in"] == 1


def test_annotated_example_shows_every_option():
    shown = set(flatten(yaml.safe_load((REPO / "examples" / "selfcodealign.yaml").read_text())))
    options = {f"{name}" for name in RunConfig.model_fields}
    options |= {f"seeds.{f}" for f in RunConfig.model_fields["seeds"].annotation.model_fields}
    options |= {f"execution.{f}" for f in RunConfig.model_fields["execution"].annotation.model_fields}
    options |= {f"backend.{f}" for f in BackendConfig.model_fields}
    options |= {f"method_options.{f}" for f in METHODS.get("selfcodealign").Options.model_fields}
    options |= {f"selection.{f}" for f in SelectionOptions.model_fields}
    options |= {f"checks.{f}" for f in RunConfig.model_fields["checks"].annotation.model_fields}
    options |= {f"repair.{f}" for f in RunConfig.model_fields["repair"].annotation.model_fields}
    options |= {f"measure.{f}" for f in RunConfig.model_fields["measure"].annotation.model_fields}
    sections = {"seeds", "execution", "backend", "method_options", "selection", "checks", "repair", "measure"}
    assert options - sections - shown == set()
    assert shown - options == set()
