"""Small inputs for every command, written by the tests, and the command lines that use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FUNCS = [
    ('def area(w, h):\n    """Area of a w by h rectangle."""\n    return w * h\n', "assert area(2, 3) == 6\n"),
    ('def clamp(x, lo, hi):\n    """x limited to [lo, hi]."""\n    return max(lo, min(x, hi))\n', "assert clamp(5, 0, 3) == 3\n"),
    ('def mean(xs):\n    """The arithmetic mean of xs."""\n    return sum(xs) / len(xs)\n', "assert mean([1, 2, 3]) == 2\n"),
    ('def words(s):\n    """The words of s, lower-cased."""\n    return s.lower().split()\n', "assert words('A b') == ['a', 'b']\n"),
]


def write_inputs(root: Path) -> dict[str, Path]:
    """Every input the commands below read, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    programs = root / "programs.jsonl"
    with programs.open("w") as fh:
        for i in range(24):
            code, tests = FUNCS[i % len(FUNCS)]
            # Each outcome carries about 2 kB of stdout, so a small full filesystem fills up part-way through.
            fh.write(json.dumps({"id": f"p{i}", "code": code + f"print('{i}' * 2000)\n", "tests": tests}) + "\n")
    paths["programs"] = programs

    from codealign.evaluate.benchmarks import load_benchmark

    problems = load_benchmark("humaneval")[:6]
    samples = root / "samples.jsonl"
    with samples.open("w") as fh:
        for p in problems:
            for wrong in (False, True, False, True):
                completion = "    return None\n" if wrong else p["canonical_solution"]
                fh.write(json.dumps({"task_id": p["task_id"], "completion": completion}) + "\n")
    paths["samples"] = samples

    data = root / "data.jsonl"
    with data.open("w") as fh:
        for i in range(40):
            code, tests = FUNCS[i % len(FUNCS)]
            row = {"instruction": f"Write a function, variant {i % 13}, that does task {i}.",
                   "response": f"```python\n{code}```", "tests": tests, "category": "function"}
            fh.write(json.dumps(row) + "\n")
    paths["data"] = data

    src = root / "src"
    src.mkdir(exist_ok=True)
    (src / "LICENSE").write_text("Permission is hereby granted, free of charge, to any person ... The above copyright "
                                 "notice and this permission notice shall be included ...\n")
    for i, (code, _) in enumerate(FUNCS):
        (src / f"m{i}.py").write_text(code.replace("(", f"_{i}(", 1))
    paths["src"] = src
    return paths


@dataclass
class Command:
    """One command line, the files it writes under `out` (relative), and whether it uses the cache."""

    name: str
    argv: list[str]
    outputs: list[str]
    cache: bool = False
    env: dict[str, str] = field(default_factory=dict)


def commands(inputs: dict[str, Path], out: Path, cache: Path) -> dict[str, Command]:
    c = ["--cache-dir", str(cache)]
    return {
        "exec": Command("exec", ["exec", str(inputs["programs"]), "-o", str(out / "outcomes.jsonl"), "-w", "2", *c],
                        ["outcomes.jsonl"], cache=True),
        "evaluate": Command("evaluate", ["evaluate", "--samples", str(inputs["samples"]), "-k", "1,4", "-w", "2",
                                         "-o", str(out / "results.jsonl"), *c], ["results.jsonl"], cache=True),
        "measure": Command("measure", ["measure", str(inputs["data"]), "-o", str(out / "report"), "-w", "2", *c],
                           ["report/metrics.json"], cache=True),
        "dedup": Command("dedup", ["dedup", str(inputs["data"]), "--field", "response", "--workers", "2", "-o", str(out / "dedup.jsonl")],
                         ["dedup.jsonl", "dedup.rejects.jsonl", "dedup.funnel.json"]),
        "decontaminate": Command("decontaminate", ["decontaminate", str(inputs["data"]), "--fields", "response",
                                                   "-o", str(out / "clean.jsonl")],
                                 ["clean.jsonl", "clean.rejects.jsonl", "clean.decontam.json"]),
        "curate": Command("curate", ["curate", str(inputs["src"]), "-o", str(out / "seeds.jsonl")],
                          ["seeds.jsonl", "seeds.rejects.jsonl", "seeds.funnel.json"]),
    }


def cli(argv: list[str], timeout: float = 240, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "codealign", *argv], capture_output=True, text=True,
                          timeout=timeout, env=full_env)
