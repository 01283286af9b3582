"""Two rounds of `codealign loop`, killed with SIGKILL while round 1 generates, then run again to the end.

The data comes from the scripted server, which the loop starts on each round's model as it would start vLLM; the
models are the tiny Llama trained for real (SFT through a LoRA adapter merged into full weights, then DPO) and
evaluated in process. The rerun trains round 1 through `train_launcher` (a child `codealign train`), which a
resumed loop may change.
"""

import os
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from tests.loop.conftest import (
    FAST_DPO,
    FAST_TRAIN,
    REPO,
    loop_command,
    read_json,
    scripted_loop,
    write_config,
)

from codealign.testing.server import read_log

pytestmark = [pytest.mark.network, pytest.mark.timeout(1800)]  # the machine may be shared and slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead: its parent (the killed loop) is gone and init reaps it
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def resumed(tiny_model_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loop-resume")
    config = scripted_loop(tmp, tiny_model_path, train={**FAST_TRAIN, "peft": "lora", "learning_rate": 1e-2},
                           dpo=FAST_DPO)  # fmt: skip
    path = write_config(tmp / "loop.yaml", config)
    loop = tmp / "loop"
    env = {**os.environ, "CODEALIGN_CACHE_DIR": str(tmp / "cache"), "COLUMNS": "400"}
    m1 = str(loop / "round-0" / "dpo")
    log = tmp / "requests.jsonl"
    with (tmp / "first.log").open("w") as out:
        first = subprocess.Popen(loop_command(path), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.monotonic() + 600
        while not any(r.get("model") == m1 for r in read_log(log)):  # round 1 has started to generate
            assert first.poll() is None, (tmp / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "round 1 never started"
            time.sleep(0.02)
        server = read_json(loop / "server.json")
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = read_log(log)
    round0 = {p: p.stat().st_mtime_ns for p in (loop / "round-0").rglob("*") if p.is_file()}
    deadline = time.monotonic() + 30
    while _alive(server["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    server_died = not _alive(server["pid"])
    second = subprocess.run(loop_command(path, "--set", "train_launcher=['{python}']"), capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=900)  # fmt: skip
    return SimpleNamespace(tmp=tmp, loop=loop, config=config, m0=str(tiny_model_path), m1=m1, at_kill=at_kill,
                           round0=round0, server=server, server_died=server_died, second=second,
                           log=read_log(log))  # fmt: skip


def test_the_rerun_starts_at_the_first_unfinished_step(resumed):
    assert resumed.second.returncode == 0, resumed.second.stderr[-3000:]
    err = resumed.second.stderr
    for step in ("generate", "sft", "dpo", "evaluate"):
        assert f"round 0: {step} finished earlier" in err
    assert "round 1: generate\n" in err and "round 1: generate finished earlier" not in err
    # Round 0 was finished: not one of its files was written again.
    after = {p: p.stat().st_mtime_ns for p in (resumed.loop / "round-0").rglob("*") if p.is_file()}
    assert after == resumed.round0
    # Round 1 trained in a child `codealign train`, from round 0's model.
    assert f"-m codealign train {resumed.loop / 'round-1' / 'sft.yaml'}" in err
    assert read_json(resumed.loop / "round-1" / "sft" / "train_summary.json")["config"]["model"] == resumed.m1


def test_no_answer_is_asked_twice(resumed):
    by_model = {}
    for r in resumed.log:
        by_model.setdefault(r["model"], []).append((r["stage"], r["prompt_hash"], r["seed"], r["n"]))
    round0 = by_model[resumed.m0]
    assert len(round0) == len(set(round0)) == 37  # 7 concept lists, 6 tasks, 6 x 4 responses: once each
    assert [r for r in resumed.log if r["model"] == resumed.m0] == [r for r in resumed.at_kill if r["model"] == resumed.m0]
    round1 = by_model[resumed.m1]
    # Answers already stored were read from the cache; only requests in flight at the kill (at most
    # max_in_flight = 4) were asked again.
    assert set(round1) == set(round0) and len(round1) - len(set(round1)) <= 4


def test_the_server_follows_the_model_and_dies_with_the_loop(resumed):
    starts = [line for line in (resumed.loop / "server.log").read_text().splitlines() if line.startswith("--- ")]
    models = [line.split("--model ", 1)[1].split()[0] for line in starts]
    # M0 for round 0, M1 for round 1; after the kill, M1 again for the rest of round 1.
    assert models == [resumed.m0, resumed.m1, resumed.m1]
    assert resumed.server["model"] == resumed.m1 and resumed.server_died
    # At the end the loop stopped its server: no state file, nothing answers on the port.
    assert not (resumed.loop / "server.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(resumed.config["run"]["backend"]["base_url"] + "/models", timeout=2)


def test_per_round_figures_table_and_report(resumed):
    summary = read_json(resumed.loop / "summary.json")
    assert summary["rounds_trained"] == 2 and summary["stopped"] is None
    assert summary["last_model"] == str(resumed.loop / "round-1" / "dpo")
    for state in summary["rounds"]:
        gen = state["steps"]["generate"]
        # The scripted server's funnel (README, "Running the pipeline"): 6 tasks, 21 of 24 responses (2 cut at
        # max_tokens), 13 passed, 4 examples and 2 DPO pairs kept.
        assert (gen["seeds"], gen["instructions"], gen["responses"], gen["passed"]) == (7, 6, 21, 13)
        assert (gen["truncated"], gen["sft"], gen["dpo"]) == (2, 4, 2)
        assert 0 < gen["pass_rate"] < 1 and gen["pass_rate"] == round(gen["passed"] / gen["executed"], 4)
        assert set(gen["qdc"]) >= set(resumed.config.get("report", {}).get("figures", [])) | {"tests.tests_per_example"}
        sft, dpo = state["steps"]["sft"], state["steps"]["dpo"]
        assert sft["train_examples"] == 4 and sft["steps"] == 12 and sft["last_loss"] < sft["first_loss"]
        assert sft["too_long"] == 0 and dpo["steps"] == 2 and "rewards/margins" in dpo
        (bench,) = state["steps"]["evaluate"].values()
        assert bench["tasks"] == 8 and 0 <= bench["pass_at_k"]["pass@1"] <= 1 and 0 <= bench["truncated"] <= 8
    base = summary["base"]["evaluate"]
    assert list(base.values())[0]["pass_at_k"] == {"pass@1": 0.0}  # M0 is random
    rows = summary["table"]
    assert [r["model"] for r in rows] == ["M0", "M1", "M2"]
    page = (resumed.loop / "report.html").read_text()
    assert page.count("<svg") >= 4 and "pass@1 by model" in page and "data yield by round" in page
    assert 'href="round-1/run/report.html"' in page and "tests.tests_per_example" in page
    assert "last model:" in resumed.second.stdout and "M2" in resumed.second.stdout


def test_lora_is_merged_and_each_round_uses_the_last_model(resumed):
    sft0 = resumed.loop / "round-0" / "sft"
    assert (sft0 / "adapter" / "adapter_config.json").is_file() and (sft0 / "model.safetensors").is_file()
    assert read_json(resumed.loop / "round-0" / "dpo" / "train_summary.json")["config"]["model"] == str(sft0)
    import yaml

    run1 = yaml.safe_load((resumed.loop / "round-1" / "run" / "config.resolved.yaml").read_text())
    assert run1["backend"]["model"] == resumed.m1 and run1["backend"]["revision"].startswith("trained-")
    evaluated = read_json(resumed.loop / "round-1" / "eval" / "jsonl-evaluate_tasks.summary.json")
    assert evaluated["model"]["name"] == str(resumed.loop / "round-1" / "dpo")
