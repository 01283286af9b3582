"""Programs executed by one sandbox actor per node: the same outcomes as the local pool, cached by the driver."""

import json

from typer.testing import CliRunner

from codealign.cache import open_cache
from codealign.cli import app
from codealign.records import iter_jsonl
from codealign.sandbox import Limits, Program
from codealign.scale.executor import RayExecutor
from codealign.scale.sandbox import ClusterSandbox

from .conftest import node_ids

KINDS = {
    "passed": ("def inc(x):\n    return x + {k}\n", "assert inc(1) == {k1}\n"),
    "failed": ("def inc(x):\n    return x - {k}\n", "assert inc(1) == {k1}\n"),
    "syntax": ("def inc(x)\n    return x + {k}\n", "assert inc(1) == {k1}\n"),
    "timeout": ("import time\nwhile True:\n    time.sleep(0.05)  # {k}\n", ""),
    "crashed": ("import os\nos._exit(0)  # {k}\n", "assert False\n"),
}


def _programs(n: int) -> list[dict]:
    kinds = [k for k in KINDS if k != "timeout"]
    rows = []
    for k in range(n):
        kind = "timeout" if k == 1 else kinds[k % len(kinds)]  # one program that waits out its timeout is enough
        code, tests = KINDS[kind]
        rows.append({"id": f"{kind}-{k}", "code": code.format(k=k), "tests": tests.format(k1=k + 1)})
    return rows


def test_exec_on_ray_gives_the_local_outcomes_and_the_driver_caches_them(tmp_path, ray_cluster):
    programs = tmp_path / "programs.jsonl"
    programs.write_text("".join(json.dumps(r) + "\n" for r in _programs(40)))
    flags = ["--timeout", "1", "--workers", "1"]

    def run(out, *extra):
        result = CliRunner().invoke(app, ["exec", str(programs), "-o", str(out), *flags, *extra],
                                    catch_exceptions=False)  # fmt: skip
        assert result.exit_code == 0, result.output
        return {r["id"]: r for r in iter_jsonl(out)}

    on_ray = run(tmp_path / "ray.jsonl", "--executor", "ray", "--ray-address", ray_cluster.address, "--no-cache")
    local = run(tmp_path / "local.jsonl", "--no-cache")
    assert {i: r["outcome"] for i, r in on_ray.items()} == {i: r["outcome"] for i, r in local.items()}
    assert {i.split("-")[0] for i, r in on_ray.items() if r["outcome"] == i.split("-")[0]} == set(KINDS)

    # With the cache: the cluster run fills the driver's cache, and a local rerun executes nothing.
    run(tmp_path / "ray2.jsonl", "--executor", "ray", "--ray-address", ray_cluster.address)
    again = run(tmp_path / "again.jsonl")
    assert all(r.get("cached") for r in again.values())
    assert {i: r["outcome"] for i, r in again.items()} == {i: r["outcome"] for i, r in local.items()}


def test_one_actor_per_node_runs_the_programs(tmp_path, ray_cluster):
    rows = _programs(48)
    limits = Limits(timeout=1)
    with RayExecutor() as ex, open_cache(tmp_path / "cache") as cache, \
            ClusterSandbox(ex, workers=1, cache=cache) as sandbox:  # fmt: skip
        outcomes = sandbox.run_all([Program(**r, limits=limits) for r in rows])
        assert len(sandbox.actors) == 2
    assert [o.id for o in outcomes] == [r["id"] for r in rows]
    assert all(o.status.value == o.id.split("-")[0] for o in outcomes)
    nodes = node_ids(ray_cluster)
    assert {nodes[n] for n in ex.tasks_per_node} == {"head", "worker"}
