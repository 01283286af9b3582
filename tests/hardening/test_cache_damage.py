"""A damaged cache costs what it held, never the work: it is set aside with one warning and a new one opened."""

import sqlite3
import warnings

import pytest

import codealign.cache as cache_module
from codealign.cache import Cache, CacheDamaged
from codealign.errors import CodealignWarning
from tests.hardening.damage import KINDS, damage
from tests.hardening.inputs import cli


def _filled(directory, n=4000):
    with Cache(directory) as c:
        c.put_many("exec", [(f"k{i}", {"status": "passed", "stdout": f"{i}" * 300}) for i in range(n)])
    return directory / "cache.sqlite3"


def _ours(seen):
    return [str(w.message) for w in seen if issubclass(w.category, CodealignWarning)]


@pytest.mark.parametrize("checked_on_open", [True, False], ids=["small", "large"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_store_is_set_aside_and_work_goes_on(tmp_path, monkeypatch, kind, checked_on_open):
    if not checked_on_open:  # a store too large for quick_check on open: damage is found by the queries
        monkeypatch.setattr(cache_module, "_QUICK_CHECK_UNDER", 0)
    path = _filled(tmp_path)
    damage(path, kind)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with Cache(tmp_path) as c:
            found = c.get_many("exec", [f"k{i}" for i in range(4000)])
            c.put("exec", "after", {"status": "failed"})
            assert c.get("exec", "after") == {"status": "failed"}
    (message,) = _ours(seen)
    aside = [p for p in tmp_path.iterdir() if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1, sorted(p.name for p in tmp_path.iterdir())
    assert message.startswith(f"the cache {path} is damaged: ") and f"moved it to {aside[0].name}" in message
    assert found == {}  # what the damaged store held is computed again, nothing half-read is trusted
    with sqlite3.connect(path) as conn:  # the new store is healthy
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_damaged_entry_is_dropped_and_the_rest_kept(tmp_path):
    _filled(tmp_path, 10)
    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:
        conn.execute("UPDATE entries SET value=? WHERE key='k3'", (b"z\x00garbage",))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with Cache(tmp_path) as c:
            found = c.get_many("exec", [f"k{i}" for i in range(10)])
            assert c.get("exec", "k3") is None
    assert sorted(found) == sorted(f"k{i}" for i in range(10) if i != 3)
    assert len(_ours(seen)) == 1 and "damaged entries" in _ours(seen)[0]


@pytest.mark.parametrize("kind", KINDS)
def test_cache_stats_reports_damage_and_leaves_the_store_alone(tmp_path, kind):
    path = _filled(tmp_path)
    damage(path, kind)
    before = path.read_bytes()
    res = cli(["cache", "stats", "--cache-dir", str(tmp_path)])
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and res.stderr.count("error:") == 1
    assert f"the cache {path} is damaged" in res.stderr and "move it aside" in res.stderr
    assert path.read_bytes() == before
    with pytest.raises(CacheDamaged):
        Cache(tmp_path, repair=False).stats()


def test_a_cache_folder_that_cannot_be_written_names_the_way_out(readonly_dir, tmp_path):
    progs = tmp_path / "p.jsonl"
    progs.write_text('{"id": "a", "code": "x = 1"}\n')
    res = cli(["exec", str(progs), "-o", str(tmp_path / "o.jsonl"), "--cache-dir", str(readonly_dir / "c")])
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = [ln for ln in res.stderr.splitlines() if "error:" in ln]
    assert f"cannot write {readonly_dir / 'c'}" in line and "--no-cache" in line
