"""Runs to report on and export: `make demo`'s run, and the same seeds curated from git repositories with licenses."""

import json
import subprocess
from pathlib import Path

import pytest

from codealign.cache import open_cache
from codealign.config import load_config
from codealign.pipeline import RunConfig, run_pipeline
from codealign.testing.server import ScriptedServer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo.yaml"
SEEDS = REPO / "examples" / "seeds.jsonl"
MIT = """MIT License

Copyright (c) 2024 The Stats Authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction.

The above copyright notice and this permission notice shall be included in all copies or substantial portions of
the Software.
"""
APACHE = """                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""


def run_demo(server: ScriptedServer, run_dir: Path, cache_dir: Path, seeds: Path = SEEDS, *extra: str) -> Path:
    """examples/demo.yaml, as `make demo` runs it, pointed at a test server, seeds file and run directory."""
    overrides = [f"backend.base_url={server.url}", f"run_dir={run_dir}", f"seeds.path={seeds}",
                 "execution.timeout=1", "execution.workers=2", *extra]
    config = load_config(RunConfig, DEMO, overrides)
    cache = open_cache(cache_dir)
    try:
        run_pipeline(config, cache, progress=False)
    finally:
        cache.close()
    return run_dir


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


def make_repository(root: Path) -> Path:
    """A git repository holding the demo's seed functions: four under the top-level MIT license, three in a
    vendored folder with its own Apache-2.0 license."""
    seeds = [json.loads(line)["seed"] for line in SEEDS.read_text().splitlines() if line.strip()]
    repo = root / "stats-lib"
    (repo / "stats").mkdir(parents=True)
    (repo / "vendor" / "signal").mkdir(parents=True)
    (repo / "LICENSE").write_text(MIT)
    (repo / "vendor" / "signal" / "LICENSE").write_text(APACHE)
    (repo / "stats" / "helpers.py").write_text("\n\n".join(seeds[:4]))
    (repo / "vendor" / "signal" / "filters.py").write_text("\n\n".join(seeds[4:]))
    git(root, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "-c", "user.name=Ada", "-c", "user.email=ada@example.org", "commit", "-qm", "helpers")
    return repo


@pytest.fixture(scope="session")
def server():
    with ScriptedServer() as s:
        yield s


@pytest.fixture(scope="session")
def demo_run(server, tmp_path_factory) -> Path:
    """A finished run of examples/demo.yaml (the seeds carry only `repo` and `license` columns)."""
    base = tmp_path_factory.mktemp("demo")
    return run_demo(server, base / "run", base / "cache")


@pytest.fixture(scope="session")
def curated(server, tmp_path_factory) -> dict:
    """The same seeds curated by `codealign curate` from a git repository (path, repo, commit, license), then run."""
    from codealign.curate.pipeline import CurateConfig, run_curate

    base = tmp_path_factory.mktemp("curated")
    repo = make_repository(base)
    seeds = base / "seeds.jsonl"
    run_curate(str(repo), seeds, CurateConfig(), show=False)
    run = run_demo(server, base / "run", base / "cache", seeds)
    return {"run": run, "repo": repo, "commit": git(repo, "rev-parse", "HEAD"), "seeds": seeds}
