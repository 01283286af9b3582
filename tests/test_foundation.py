import json
import multiprocessing as mp
import subprocess
import sys

import pytest

from codealign.cache import Cache, NullCache, cache_key, open_cache
from codealign.config import StrictModel, apply_overrides, build, load_config
from codealign.errors import ConfigError, InputError, MissingDependency
from codealign.records import Record, iter_jsonl, iter_rows, write_jsonl, write_rows
from codealign.registry import Registry


def test_record_id_depends_on_content_and_parents():
    a = Record("seed", {"seed": "def f(x): return x"})
    b = Record("seed", {"seed": "def f(x): return x"})
    c = Record("seed", {"seed": "def f(x): return x"}, parents=("p1",))
    assert a.id == b.id
    assert a.id != c.id
    assert Record.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_jsonl_bad_lines_are_reported_and_skipped(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"a": 1}\nnot json\n\n[1, 2]\n{"a": 2}\n')
    errors = []
    rows = list(iter_jsonl(p, errors))
    assert rows == [{"a": 1}, {"a": 2}]
    assert [(e.lineno, e.reason.split(":")[0]) for e in errors] == [(2, "invalid JSON"), (4, "expected a JSON object, got list")]
    with pytest.raises(InputError, match=":2:"):
        list(iter_jsonl(p))
    with pytest.raises(InputError, match="not found"):
        list(iter_jsonl(tmp_path / "missing.jsonl"))


def test_write_is_atomic_on_error(tmp_path):
    p = tmp_path / "out.jsonl"
    write_jsonl(p, [{"x": 1}])

    def rows():
        yield {"x": 2}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl(p, rows())
    assert [r for r in iter_jsonl(p)] == [{"x": 1}]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.jsonl"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_follow_the_umask(tmp_path, umask):
    # In a child process: the umask is process-wide, and other tests' threads must not see it change.
    code = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from codealign.records import write_jsonl, write_rows\n"
        "from codealign.runs import RunDir\n"
        "write_jsonl(sys.argv[1] + '/rows.jsonl', [{'a': 1}])\n"
        "RunDir(sys.argv[1] + '/run').write_json('funnel.json', {'a': 1})\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    for path in (tmp_path / "rows.jsonl", tmp_path / "run" / "funnel.json"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_parquet_roundtrip(tmp_path):
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    write_rows(p, [{"seed": "a", "n": 1}, {"seed": "b", "n": 2}])
    assert list(iter_rows(p)) == [{"seed": "a", "n": 1}, {"seed": "b", "n": 2}]


def test_cache_roundtrip_and_stats(tmp_path):
    with Cache(tmp_path) as cache:
        key = cache_key({"model": "m", "prompt": "p"})
        assert cache.get("llm", key) is None
        cache.put("llm", key, {"text": "x" * 2000})
        cache.put_many("exec", [("k1", {"status": "passed"}), ("k2", {"status": "failed"})])
        assert cache.get("llm", key) == {"text": "x" * 2000}
        assert cache.get_many("exec", ["k1", "k2", "k3"]) == {"k1": {"status": "passed"}, "k2": {"status": "failed"}}
        stats = cache.stats()
        assert stats["llm"]["entries"] == 1 and stats["exec"]["entries"] == 2
        assert {e[1] for e in cache.iter_entries("exec")} == {"k1", "k2"}
    assert isinstance(open_cache(enabled=False), NullCache)


def _writer(directory, start):
    cache = Cache(directory)
    for i in range(start, start + 200):
        cache.put("exec", f"k{i}", {"i": i})
    cache.close()


def test_cache_concurrent_writers(tmp_path):
    procs = [mp.get_context("spawn").Process(target=_writer, args=(tmp_path, s)) for s in (0, 200, 400)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert Cache(tmp_path).stats()["exec"]["entries"] == 600


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEALIGN_CACHE_DIR", str(tmp_path / "c"))
    cache = open_cache()
    assert cache.path == tmp_path / "c" / "cache.sqlite3"


class _Inner(StrictModel):
    temperature: float = 0.7


class _Job(StrictModel):
    name: str = "x"
    inner: _Inner = _Inner()


def test_config_unknown_key_and_overrides(tmp_path):
    with pytest.raises(ConfigError, match="inner.temprature: unknown key"):
        build(_Job, {"inner": {"temprature": 1.0}})
    p = tmp_path / "c.yaml"
    p.write_text("name: y\ninner:\n  temperature: 0.2\n")
    job = load_config(_Job, p, ["inner.temperature=0.9"])
    assert job.name == "y" and job.inner.temperature == 0.9
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["nonsense"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(_Job, tmp_path / "nope.yaml")


def test_registry_lazy_and_errors():
    reg = Registry("backends")
    reg.register("json", "json:dumps", aliases=("j",))
    reg.register("needs", "nonexistent_pkg_xyz.mod:Thing", extra="hf", requires=("nonexistent_pkg_xyz",))
    assert reg.get("j") is json.dumps
    with pytest.raises(ConfigError, match="unknown backend 'nope'; known: json, needs"):
        reg.get("nope")
    with pytest.raises(MissingDependency, match=r"pip install 'codealign\[hf\]'"):
        reg.get("needs")


def test_import_is_light_and_cli_answers():
    code = "import sys, codealign, codealign.cli; print(sorted(m for m in ('torch','transformers','numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    res = subprocess.run([sys.executable, "-m", "codealign", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "codealign" in res.stdout


def test_humaneval_loads_pinned():
    from codealign.evaluate.benchmarks import benchmark_info, load_benchmark

    problems = load_benchmark("humaneval")
    assert len(problems) == 164 and problems[0]["task_id"] == "HumanEval/0"
    assert set(problems[0]) >= {"prompt", "canonical_solution", "test", "entry_point"}
    assert benchmark_info("humaneval")["version"] == "1.0.3"
    with pytest.raises(ConfigError, match="unknown benchmark"):
        load_benchmark("nope")
