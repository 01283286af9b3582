"""Execution feedback in `codealign run` against the scripted server: tests that game a wrong solution never reach
the final data."""

import json
import subprocess
import sys

from codealign.testing.server import read_log
from tests.pipeline.conftest import REPO

# The scripted server answers this seed with one `add` task and four responses: a correct one, and a wrong
# `add` (a - b) whose tests cannot catch it in each of the three ways of issue 14.
ADD_SEED = 'def sum_pair(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'
GAMED = {"gamed_or_true": "asserts_cannot_fail", "gamed_swallowed": "assert_failure_swallowed",
         "gamed_not_none": "type_checks_only"}  # fmt: skip


def write_config(tmp_path, server, **extra):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"seed": ADD_SEED}) + "\n")
    config = {
        "run_dir": str(tmp_path / "run"),
        "seeds": {"path": str(seeds)},
        "method": "selfcodealign",
        "method_options": {"response_samples": 8},
        "backend": {"type": "openai", "base_url": server.url, "model": "scripted", "mode": "completion"},
        "execution": {"timeout": 3, "workers": 2},
        **extra,
    }
    path = tmp_path / "config.json"  # JSON is YAML
    path.write_text(json.dumps(config))
    return path


def codealign_run(config, tmp_path, *sets, run_dir="run"):
    run_dir = tmp_path / run_dir
    args = [sys.executable, "-m", "codealign", "run", str(config), "-q", "--cache-dir", str(tmp_path / "cache")]
    for item in [f"run_dir={run_dir}", *sets]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr
    sft = [json.loads(line) for line in (run_dir / "final" / "sft.jsonl").read_text().splitlines()]
    return sft, json.loads((run_dir / "funnel.json").read_text())


def code_of(row):
    return row["response"].split("```python\n")[1].split("```")[0]


def test_a_wrong_add_with_gamed_tests_never_reaches_the_final_data(scripted_server, tmp_path):
    config = write_config(tmp_path, scripted_server)
    sft, funnel = codealign_run(config, tmp_path)
    kinds = [k for entry in read_log(scripted_server.log_path) if entry["stage"] == "response" for k in entry["kinds"]]
    assert set(kinds) == {*GAMED, "correct"}
    # Every gamed response passes in the sandbox: only the gate stands between it and the data.
    assert funnel["stages"]["execute"]["out"] == len(kinds)
    rejected = funnel["selection"]["test_quality"]["by_reason"]
    assert rejected == {reason: kinds.count(kind) for kind, reason in GAMED.items()}
    assert [code_of(row) for row in sft] == ["def add(a, b):\n    return a + b\n"]

    # Faithful mode is the paper's recipe: exit status 0 is enough, so a wrong `add` stays among the candidates.
    faithful_sft, faithful = codealign_run(config, tmp_path, "faithful=true", run_dir="faithful")
    assert "test_quality" not in faithful["selection"]
    assert faithful["selection"]["one_per_instruction"]["in"] == len(kinds)


# Samples of one `median` task that disagree: two correct, one wrong that passes the tests it wrote (sorted input
# only), and one wrong that fails its own tests and that a repair round fixes.
MEDIAN_SEED = 'def middle_value(values):\n    """Return the middle of the sorted values."""\n    return sorted(values)[len(values) // 2]\n'
SELF_CONSISTENT = "def median(values):\n    return values[len(values) // 2]\n"


def run_in_process(server, tmp_path, run_dir, *sets):
    from codealign.cache import open_cache
    from codealign.config import load_config
    from codealign.pipeline import RunConfig, run_pipeline

    seeds = tmp_path / "median.jsonl"
    seeds.write_text(json.dumps({"seed": MEDIAN_SEED}) + "\n")
    config = write_config(tmp_path, server, seeds={"path": str(seeds)})
    cache = open_cache(tmp_path / "cache")
    try:
        funnel = run_pipeline(load_config(RunConfig, config, [f"run_dir={tmp_path / run_dir}", *sets]), cache, progress=False)
    finally:
        cache.close()
    rows = [json.loads(line) for line in (tmp_path / run_dir / "final" / "sft.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (tmp_path / run_dir / "final" / "dpo.jsonl").read_text().splitlines()]
    return funnel, rows, pairs


def test_consensus_keeps_the_response_the_other_samples_agree_on(scripted_server, tmp_path):
    # With this shuffle seed the random choice keeps the wrong median, which passes the tests it wrote.
    funnel, rows, _ = run_in_process(scripted_server, tmp_path, "run", "checks.cross_check=true", "selection.shuffle_seed=2")
    assert code_of(rows[0]) == SELF_CONSISTENT
    assert funnel["consensus"] == {"choose": "random", "instructions": 1, "random_choice_fails_others": 1,
                                   "kept_fails_others": 1, "choice_changed": 0}  # fmt: skip
    assert rows[0]["checks"]["agreement"] < 0.5
    answered = len(read_log(scripted_server.log_path))

    # Only selection changes: the same run directory, nothing asked or executed again.
    funnel, rows, pairs = run_in_process(scripted_server, tmp_path, "run", "selection.shuffle_seed=2", "selection.choose=consensus")
    assert len(read_log(scripted_server.log_path)) == answered
    assert funnel["stages"]["cross_check"]["out"] == funnel["stages"]["execute"]["in"]
    assert funnel["consensus"]["kept_fails_others"] == 0 and funnel["consensus"]["choice_changed"] == 1
    kept = rows[0]
    assert code_of(kept) != SELF_CONSISTENT and kept["checks"]["agreement"] == 1.0
    # The pair says why: the kept response passes every suite; the rejected one fails suites the kept one passes.
    assert pairs[0]["rule"] == "consensus" and pairs[0]["chosen_id"] == kept["lineage"]["sample"]
    assert pairs[0]["rejected_fails"] and "test suites the chosen passes" in pairs[0]["reason"]
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Samples checked against each other" in page and "choose: consensus" in page


def test_a_repair_round_turns_a_failing_sample_into_a_passing_one(scripted_server, tmp_path):
    sets = ("repair.rounds=2", "checks.mutants=3", "selection.min_coverage=1.0", "selection.min_kill_rate=1.0")
    funnel, rows, _ = run_in_process(scripted_server, tmp_path, "run", *sets)
    repairs = [e for e in read_log(scripted_server.log_path) if e["stage"] == "repair"]
    assert repairs and {k for e in repairs for k in e["kinds"]} == {"repair"}
    stage = funnel["stages"]["repair"]
    # Every failing sample came back fixed in the first round; none needed the second.
    assert stage["rounds"] == [{"round": 1, "in": len(repairs), "out": len(repairs), "rejected": {}}]
    assert stage["out"] == stage["in"] + len(repairs)
    assert funnel["stages"]["execute"]["rejected"] == {"failed": len(repairs)}  # the originals still fail
    run = tmp_path / "run"
    repaired = [json.loads(line) for line in (run / "repair" / "00000.jsonl").read_text().splitlines()
                if json.loads(line)["data"].get("repair_round")]  # fmt: skip
    assert len(repaired) == len(repairs)
    assert all(r["provenance"]["repair"]["round"] == 1 and r["provenance"]["repair"]["repairs"] == r["parents"][0]
               for r in repaired)  # fmt: skip
    # Their tests are the originals': the code was fixed, not the checks.
    originals = {json.loads(line)["id"]: json.loads(line) for line in (run / "response" / "00000.jsonl").read_text().splitlines()}
    assert all(r["data"]["tests"] == originals[r["parents"][0]]["data"]["tests"] for r in repaired)
    # Coverage and mutants ran on every passing sample, repaired ones included; the kept one is fully covered.
    assert funnel["stages"]["adequacy"]["out"] == funnel["stages"]["execute"]["out"]
    assert rows[0]["checks"]["line_coverage"] == 1.0 and rows[0]["checks"]["kill_rate"] == 1.0
    # The self-consistent wrong median covers its one line, but its tests (sorted lists of odd length) cannot tell
    # `len(values) // 2` from `len(values) // 3`: a mutant survives, and the kill-rate floor rejects it.
    served = [k for e in read_log(scripted_server.log_path) if e["stage"] == "response" for k in e["kinds"]]
    adequacy = funnel["selection"]["test_adequacy"]
    assert adequacy["by_reason"] == {"kill_rate_below_min": served.count("wrong_self_consistent")}
    assert SELF_CONSISTENT not in {code_of(row) for row in rows}

    again = run_in_process(scripted_server, tmp_path, "run", *sets)
    assert again[0] == funnel and len([e for e in read_log(scripted_server.log_path) if e["stage"] == "repair"]) == len(repairs)
    resumed = json.loads((run / "usage.json").read_text())["this_invocation"]["resumed_shards"]
    assert resumed["repair"] == resumed["adequacy"] == 1  # finished shards with the same options are not redone
    # More mutants: only the adequacy shard is made again, and only the new mutants run.
    more = run_in_process(scripted_server, tmp_path, "run", *sets[:1], "checks.mutants=4", *sets[2:])
    resumed = json.loads((run / "usage.json").read_text())["this_invocation"]["resumed_shards"]
    assert resumed["repair"] == 1 and resumed["adequacy"] == 0
    assert more[1][0]["checks"]["mutants"] == 4


def test_feedback_options_in_the_config(tmp_path):
    import pytest

    from codealign.config import load_config
    from codealign.errors import ConfigError
    from codealign.pipeline import RunConfig
    from codealign.runs import flatten

    class Server:
        url = "http://127.0.0.1:9/v1"

    path = write_config(tmp_path, Server())
    with pytest.raises(ConfigError, match="min_kill_rate needs mutants"):
        load_config(RunConfig, path, ["selection.min_kill_rate=0.5"])
    with pytest.raises(ConfigError, match="cross_tests"):
        load_config(RunConfig, path, ["checks.cross_tests=0"])
    config = load_config(RunConfig, path, ["selection.choose=consensus", "selection.min_coverage=0.8", "repair.rounds=2"])
    checks = config.effective_checks()
    assert checks.cross_check and checks.coverage and not checks.mutants  # switched on by what selection asks
    assert flatten(config.fixed())["repair.rounds"] == 2  # repairs make samples: a resumed run must agree on them
    faithful = load_config(RunConfig, path, ["faithful=true", "selection.choose=consensus", "repair.rounds=2",
                                             "checks.mutants=4", "selection.pairs=consensus"])  # fmt: skip
    assert faithful.effective_checks() == type(checks)() and faithful.repair_rounds() == 0
    assert faithful.selection_options().choose == "random" and faithful.selection_options().pairs == "failing"
    assert "repair.rounds" not in flatten(faithful.fixed())
