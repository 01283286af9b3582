"""Every method end to end against the scripted server, in both modes: the funnel is what the model's answers imply."""

import json
import re
from collections import Counter
from itertools import combinations

import pytest
import yaml

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.errors import ConfigError
from codealign.pipeline import RunConfig, run_pipeline
from codealign.records import iter_jsonl
from codealign.registry import METHODS
from codealign.synth.base import Method
from codealign.synth.fewshot import GenerationOptions
from codealign.synth.respond import response_stage
from codealign.synth.rouge import rouge_l
from codealign.synth.tasks import SeedTasks
from codealign.testing.server import read_log
from tests.pipeline.conftest import REPO, demo_overrides

DEMO = REPO / "examples" / "demo.yaml"
EXECUTED = {"correct": "passed", "trivial_tests": "passed", "wrong": "failed", "escapes_sandbox": "failed",
            "loops_forever": "timeout", "syntax_error": "syntax"}  # fmt: skip
NOT_RUN = {"placeholder": "format:placeholder", "tests_without_assert": "format:no_assert"}
OPTIONS = {
    "oss-instruct": ["method_options={samples: 2, temperature: 0.7}"],
    "evol-instruct": ["method_options={rounds: 3, response_samples: 2}"],
    "self-instruct": ["method_options={response_samples: 2}"],
    "distill": ["method_options={response_samples: 2}"],
}
STAGES = {
    "oss-instruct": ["seeds", "problem", "execute"],
    "evol-instruct": ["seeds", "tasks", "evolve", "response", "execute"],
    "self-instruct": ["seeds", "tasks", "bootstrap", "response", "execute"],
    "distill": ["seeds", "concepts", "instruction", "response", "execute"],
}


def run(server, tmp_path, method, *extra):
    sets = demo_overrides(server, tmp_path / "run", f"method={method}", *OPTIONS[method])
    if method == "distill":
        sets.append(f"teacher={{type: openai, model: scripted-teacher, mode: chat, base_url: '{server.url}'}}")
    config = load_config(RunConfig, DEMO, [*sets, *extra])
    cache = open_cache(tmp_path / "cache")
    try:
        return run_pipeline(config, cache, progress=False)
    finally:
        cache.close()


def served(server, stage):
    return [entry for entry in read_log(server.log_path) if entry["stage"] == stage]


def check_common(funnel, run_dir, method, mode, server):
    """What holds for every method: stages in order, counts that add up, final rows traced to their seeds."""
    assert list(funnel["stages"]) == STAGES[method]
    paths = Counter(e["path"] for e in read_log(server.log_path) if e.get("model") == "scripted")
    assert set(paths) == {"/v1/completions" if mode == "completion" else "/v1/chat/completions"}
    samples = funnel["stages"]["execute"]["in"]
    assert funnel["selection"]["format"]["in"] == samples
    for stage, entry in funnel["stages"].items():
        rejects = Counter(row["reason"].split(":")[0] if stage == "seeds" else row["reason"]
                          for row in iter_jsonl(run_dir / "rejects" / f"{stage}.jsonl"))  # fmt: skip
        if stage != "execute":  # execution's rejects are its outcomes, written per sample in its shards
            assert rejects == Counter(entry["rejected"]), stage
    seeds = {row["id"] for row in iter_jsonl(run_dir / "seeds" / "00000.jsonl")}
    sft = list(iter_jsonl(run_dir / "final" / "sft.jsonl"))
    assert len(sft) == funnel["final"]["sft"] > 0
    for row in sft:
        assert row["lineage"]["seed"] in seeds
        assert row["lineage"]["execution"]["status"] == "passed"
        assert "assert" in row["tests"] and row["provenance"]["response"]["method"] == method
    return sft


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_oss_instruct(scripted_server, tmp_path, mode):
    funnel = run(scripted_server, tmp_path, "oss-instruct", f"backend.mode={mode}")
    check_common(funnel, tmp_path / "run", "oss-instruct", mode, scripted_server)
    kinds = Counter(k for e in served(scripted_server, "problem") for k in e["kinds"])
    problem = funnel["stages"]["problem"]
    wrong_format = {"malformed": "no_tests", "rambles": "truncated at max_tokens", "copies_problem": "solution_copies_problem"}
    assert problem["in"] == 7 and sum(kinds.values()) == 14  # two problems per snippet
    assert problem["rejected"] == dict(Counter(wrong_format[k] for k in kinds.elements() if k in wrong_format))
    made = 14 - sum(problem["rejected"].values())
    assert problem["out"] == made and problem["kinds"] == {"instruction": made, "sample": made}
    statuses = Counter(EXECUTED[k] for k in kinds.elements() if k in EXECUTED)
    assert funnel["stages"]["execute"]["out"] == statuses["passed"]
    # One problem per call: each instruction has exactly one sample, its child.
    rows = [json.loads(line) for line in (tmp_path / "run" / "problem" / "00000.jsonl").read_text().splitlines()]
    instructions = {r["id"] for r in rows if r["kind"] == "instruction"}
    assert sorted(r["parents"][0] for r in rows if r["kind"] == "sample") == sorted(instructions)


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_evol_instruct(scripted_server, tmp_path, mode):
    funnel = run(scripted_server, tmp_path, "evol-instruct", f"backend.mode={mode}")
    check_common(funnel, tmp_path / "run", "evol-instruct", mode, scripted_server)
    evolve = funnel["stages"]["evolve"]
    assert [r["round"] for r in evolve["rounds"]] == [1, 2, 3]
    assert all(r["in"] == 7 for r in evolve["rounds"])  # an eliminated task goes back for the next round
    kinds = Counter(k for e in served(scripted_server, "evolve") for k in e["kinds"])
    assert sum(kinds.values()) == 21
    rejected = Counter(evolve["rejected"])
    assert rejected["copies_evolving_prompt"] == kinds["copies_prompt"]
    assert rejected["not_a_task"] == kinds["not_a_task"]
    # A repeated task gains nothing; so does an evolution that adds a requirement the task already had.
    assert rejected["no_information_gain"] >= kinds["no_new_information"]
    assert evolve["out"] == kinds["evolved"] - (rejected["no_information_gain"] - kinds["no_new_information"]) > 0
    for row in iter_jsonl(tmp_path / "run" / "rejects" / "evolve.jsonl"):
        assert row["round"] in (1, 2, 3) and row["raw"]
    evolved = list(iter_jsonl(tmp_path / "run" / "evolve" / "00000.jsonl"))
    assert {r["data"]["round"] for r in evolved} <= {1, 2, 3}
    for r in evolved:  # each evolution's parent is the task it rewrote: a seed's task or an earlier evolution
        assert r["data"]["evolution"] in ("constraints", "replace_requirement", "more_reasoning", "erroneous_code", "complexity")
    assert funnel["stages"]["response"]["in"] == evolve["out"]


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_self_instruct(scripted_server, tmp_path, mode):
    funnel = run(scripted_server, tmp_path, "self-instruct", f"backend.mode={mode}")
    check_common(funnel, tmp_path / "run", "self-instruct", mode, scripted_server)
    kinds = Counter(k for e in served(scripted_server, "bootstrap") for k in e["kinds"][0].split(","))
    boot = funnel["stages"]["bootstrap"]
    assert boot["in"] == 7 and sum(kinds.values()) == 56  # eight new tasks per seed task
    expected = {"keyword": "unsupported_keyword:chart", "too_short": "too_short", "not_english": "not_english",
                "starts_with_punctuation": "starts_with_punctuation"}  # fmt: skip
    for kind, reason in expected.items():
        assert boot["rejected"][reason] == kinds[kind]
    assert boot["rejected"]["similar_to_existing"] == kinds["novel"] + kinds["near_copy"] - boot["out"]
    kept = [r["data"]["instruction"] for r in iter_jsonl(tmp_path / "run" / "bootstrap" / "00000.jsonl")]
    known = [r["data"]["instruction"] for r in iter_jsonl(tmp_path / "run" / "tasks" / "00000.jsonl")]
    assert all(rouge_l(a, b) < 0.7 for a, b in combinations(kept, 2))
    assert all(rouge_l(a, b) < 0.7 for a in kept for b in known)


@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_distill_answers_with_the_teacher(scripted_server, tmp_path, mode):
    funnel = run(scripted_server, tmp_path, "distill", f"backend.mode={mode}")
    sft = check_common(funnel, tmp_path / "run", "distill", mode, scripted_server)
    by_stage = {(e["stage"], e["model"], e["path"]) for e in read_log(scripted_server.log_path)}
    assert {s for s, model, _ in by_stage if model == "scripted-teacher"} == {"response"}
    assert {p for s, model, p in by_stage if model == "scripted-teacher"} == {"/v1/chat/completions"}
    assert {s for s, model, _ in by_stage if model == "scripted"} == {"concepts", "instruction"}
    for row in sft:
        assert row["provenance"]["response"]["model"] == "scripted-teacher"
        assert row["provenance"]["response"]["mode"] == "chat"
        assert row["provenance"]["instruction"]["model"] == "scripted"
    usage = json.loads((tmp_path / "run" / "usage.json").read_text())
    assert usage["this_invocation"]["teacher"]["requests"] == funnel["stages"]["response"]["in"]
    fixed = yaml.safe_load((tmp_path / "run" / "config.resolved.yaml").read_text())["_fixed"]
    assert fixed["teacher.model"] == "scripted-teacher"
    # The teacher block decides the records: a different teacher is refused on resume.
    with pytest.raises(ConfigError, match=r"teacher\.model"):
        run(scripted_server, tmp_path, "distill", f"backend.mode={mode}", "teacher.model=other-teacher")


def test_distill_without_a_teacher_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="answers with a teacher model: add a `teacher:` block"):
        load_config(RunConfig, DEMO, ["method=distill", f"run_dir={tmp_path}"])


def test_without_tests_nothing_is_executed_and_selection_reads_the_text(scripted_server, tmp_path):
    funnel = run(scripted_server, tmp_path, "evol-instruct", "method_options.tests=false", "method_options.rounds=1")
    assert list(funnel["stages"]) == ["seeds", "tasks", "evolve", "response"]
    assert list(funnel["selection"])[:2] == ["format", "one_per_instruction"]  # no passing or test-quality filter
    assert funnel["final"]["dpo"] == 0
    sft = list(iter_jsonl(tmp_path / "run" / "final" / "sft.jsonl"))
    assert sft and all(row["tests"] == "" and row["lineage"]["execution"] is None for row in sft)
    assert all(re.search(r"```", row["response"]) for row in sft)


@pytest.mark.parametrize("method", ["oss-instruct", "evol-instruct", "self-instruct"])
def test_each_method_example_shows_every_method_option(method):
    from codealign.runs import flatten

    shown = flatten(yaml.safe_load((REPO / "examples" / f"{method}.yaml").read_text())["method_options"])
    options = METHODS.get(method).Options()
    assert set(shown) == set(type(options).model_fields)
    for key, value in shown.items():  # shown at its default
        default = getattr(options, key)
        assert (list(default) if isinstance(default, tuple) else default) == value, key


class SeedsAnswered(Method):
    """A sixth method written as the README shows: one class here, one registry line, nothing else touched."""

    name, version, Options = "seeds-answered", "1.0", GenerationOptions

    def build_stages(self):
        return [SeedTasks(), response_stage(self, self.options, shots=1, samples=2, with_tests=True)]


def test_a_new_method_is_one_class_and_one_registry_line(scripted_server, tmp_path):
    METHODS.register("seeds-answered", f"{__name__}:SeedsAnswered")
    try:
        config = load_config(RunConfig, DEMO, [*demo_overrides(scripted_server, tmp_path / "run"), "method=seeds-answered",
                                               "method_options={}"])  # fmt: skip
        cache = open_cache(tmp_path / "cache")
        try:
            funnel = run_pipeline(config, cache, progress=False)
        finally:
            cache.close()
    finally:
        METHODS.unregister("seeds-answered")
    assert list(funnel["stages"]) == ["seeds", "tasks", "response", "execute"]
    assert funnel["stages"]["response"]["in"] == 7 and funnel["final"]["sft"] >= 1
    for row in iter_jsonl(tmp_path / "run" / "final" / "sft.jsonl"):
        assert row["instruction"].startswith("Write a Python function `")  # a seed's own docstring task
        assert row["provenance"]["response"]["method"] == "seeds-answered"
