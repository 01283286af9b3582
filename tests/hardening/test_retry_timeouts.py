"""A timeout stays cached like any outcome, and `--retry-timeouts` runs such programs again."""

import json

from codealign.cache import Cache
from tests.hardening.inputs import cli


def _summary(stderr):
    """The rows of the summary table: {"from cache": "3", ...}."""
    return {line.split("│")[1].strip(): line.split("│")[2].strip() for line in stderr.splitlines()
            if line.count("│") >= 3}  # fmt: skip


def _outcomes(path):
    return {r["id"]: r["outcome"] for r in map(json.loads, path.read_text().splitlines())}


def test_a_cached_timeout_is_kept_until_asked_to_run_again(tmp_path):
    progs = tmp_path / "p.jsonl"
    progs.write_text("".join(json.dumps({"id": f"p{i}", "code": f"x = {i}\n", "tests": f"assert x == {i}\n"}) + "\n"
                             for i in range(3)))  # fmt: skip
    out, cache_dir = tmp_path / "o.jsonl", tmp_path / "cache"
    argv = ["exec", str(progs), "-o", str(out), "-w", "1", "--cache-dir", str(cache_dir)]
    assert cli(argv).returncode == 0 and set(_outcomes(out).values()) == {"passed"}
    # As if a loaded machine had made one program miss its deadline on an earlier run.
    with Cache(cache_dir) as cache:
        (key, value), *_ = [(k, v) for _, k, v, _ in cache.iter_entries("exec")]
        cache.put("exec", key, {**value, "status": "timeout"})
    res = cli(argv)
    assert sorted(_outcomes(out).values()) == ["passed", "passed", "timeout"]
    assert _summary(res.stderr)["from cache"] == "3"

    res = cli([*argv, "--retry-timeouts"])
    assert res.returncode == 0, res.stderr
    assert set(_outcomes(out).values()) == {"passed"}
    rows = _summary(res.stderr)
    assert rows["from cache"] == "2" and rows["timeouts run again"] == "1"
    with Cache(cache_dir) as cache:  # the new outcome replaced the cached timeout
        assert {v["status"] for _, _, v, _ in cache.iter_entries("exec")} == {"passed"}
