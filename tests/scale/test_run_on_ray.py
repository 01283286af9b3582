"""`codealign run` with `executor: ray` against the scripted server: the files of a local run, work on both nodes,
a node lost mid-run, and a driver killed and started again."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.pipeline import RunConfig, run_pipeline
from codealign.testing.server import ScriptedServer, read_log
from tests.pipeline.conftest import REPO, demo_overrides

from .conftest import OBJECT_STORE, node_ids

DEMO = REPO / "examples" / "demo.yaml"
FINAL = ("final/sft.jsonl", "final/dpo.jsonl", "funnel.json", "rejects/select.jsonl", "rejects/response.jsonl")
STAGES = ("seeds", "concepts", "instruction", "response", "execute")


def _overrides(server, run_dir, *extra):
    return demo_overrides(server, run_dir, "shard_size=2", "execution.workers=1", *extra)


def _run(server, run_dir, cache_dir, *extra):
    config = load_config(RunConfig, DEMO, _overrides(server, run_dir, *extra))
    with open_cache(cache_dir) as cache:
        return run_pipeline(config, cache, progress=False)


def _same_files(a: Path, b: Path) -> None:
    """The final files and every stage's shards byte for byte; execution rows up to how long each program took."""
    for name in FINAL:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for stage in STAGES:
        shards = sorted(p.name for p in (a / stage).iterdir())
        assert shards == sorted(p.name for p in (b / stage).iterdir()), stage
        for shard in (s for s in shards if s.endswith(".jsonl")):
            if stage == "execute":
                assert _untimed(a / stage / shard) == _untimed(b / stage / shard), shard
            else:
                assert (a / stage / shard).read_bytes() == (b / stage / shard).read_bytes(), f"{stage}/{shard}"


def _untimed(path: Path) -> list:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        for key in ("duration", "cpu_time"):
            (row.get("outcome") or {}).pop(key, None)
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted local run, and how many requests it asked."""
    tmp = tmp_path_factory.mktemp("local")
    with ScriptedServer(log_path=tmp / "log.jsonl") as server:
        _run(server, tmp / "run", tmp / "cache")
    return tmp / "run", len(read_log(tmp / "log.jsonl"))


def test_run_on_ray_writes_the_files_of_a_local_run(tmp_path, ray_cluster, reference):
    local, asked = reference
    with ScriptedServer(log_path=tmp_path / "log.jsonl") as server:
        _run(server, tmp_path / "run", tmp_path / "cache", "executor=ray", f"ray.address={ray_cluster.address}")
    _same_files(local, tmp_path / "run")
    assert len(read_log(tmp_path / "log.jsonl")) == asked, "each request asked once, by one backend actor"
    usage = json.loads((tmp_path / "run" / "usage.json").read_text())
    nodes = node_ids(ray_cluster)
    ran = usage["this_invocation"]["executor"]["tasks_per_node"]
    assert {nodes[n] for n in ran} == {"head", "worker"}


@pytest.mark.slow  # about 35 s on 2 loaded cores: a third Ray node started, then removed
def test_a_node_lost_mid_run_changes_nothing(tmp_path, ray_cluster, reference):
    local, _ = reference
    doomed = ray_cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE, resources={"doomed_node": 1})
    ray_cluster.wait_for_nodes()
    with ScriptedServer(log_path=tmp_path / "log.jsonl") as server:
        errors = []
        worker = threading.Thread(target=lambda: _catch(errors, _run, server, tmp_path / "run", tmp_path / "cache",
                                                        "executor=ray", f"ray.address={ray_cluster.address}"))  # fmt: skip
        worker.start()
        deadline = time.time() + 120
        # once the instructions stage has begun, every later stage still has its work to send
        while not (tmp_path / "run" / "instruction").exists() and worker.is_alive() and time.time() < deadline:
            time.sleep(0.02)
        ray_cluster.remove_node(doomed)
        worker.join(timeout=300)
    assert not worker.is_alive() and not errors, errors
    _same_files(local, tmp_path / "run")
    executor = json.loads((tmp_path / "run" / "usage.json").read_text())["this_invocation"]["executor"]
    assert executor["replaced_actors"] >= 1, f"work sent to the lost node's actors was sent again elsewhere: {executor}"


@pytest.mark.slow  # about 45 s on 2 loaded cores: two drivers started as processes, each joining the cluster
def test_a_killed_driver_resumes_from_the_markers(tmp_path, ray_cluster, reference):
    local, asked = reference
    with ScriptedServer(log_path=tmp_path / "log.jsonl") as server:
        args = [sys.executable, "-m", "codealign", "run", str(DEMO), "-q", "--cache-dir", str(tmp_path / "cache")]
        for item in _overrides(server, tmp_path / "run", "executor=ray", f"ray.address={ray_cluster.address}"):
            args += ["--set", item]
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 180
        while proc.poll() is None and time.time() < deadline:
            if list((tmp_path / "run" / "response").glob("*.done")):
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    _same_files(local, tmp_path / "run")
    usage = json.loads((tmp_path / "run" / "usage.json").read_text())["this_invocation"]
    assert usage["resumed_shards"]["concepts"] >= 1 and usage["resumed_shards"]["response"] >= 1
    log = read_log(tmp_path / "log.jsonl")
    # only requests in flight at the kill can be asked twice; everything answered before it came from the cache
    assert asked <= len(log) <= asked + 8


def _catch(errors, fn, *args):
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)
