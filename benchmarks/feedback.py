"""Execution feedback costs, same run.

1. Per program: HumanEval's 164 canonical solutions x `--repeat`, and the SelfCodeAlign few-shot pool's Python
   examples (responses and tests as a model writes them) x `--repeat`, through codealign's sandbox (no cache) as a
   plain run, with the asserts counted (`checks=("asserts",)`), with line and branch coverage (`("coverage",)`) and
   with both; rounds interleaved, median programs/s and CPU ms per program (every process: the caller, the
   workers, the programs; a pool per batch, its start-up included and the same for every variant). The tool a
   user would otherwise pick for coverage, coverage.py, runs `--coverage-py` of the HumanEval programs the way one
   runs it on a file: `python -m coverage run --branch` then `coverage json`, a fresh interpreter each.
2. Cross-checking: `--instructions` HumanEval problems as tasks, each with `--samples` samples (the canonical
   solution and cheap mutants of it, each with its own share of the problem's asserts as its tests), checked by the
   pipeline's own cross_check step (every sample against the tests of up to `--tests` passing samples), first with
   an empty cache, then again with the cache it filled; against executing the samples themselves once.

    .venv/bin/python benchmarks/feedback.py [--rounds 3] [--repeat 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

FENCE = "```"


def humaneval_programs(problems):
    from codealign.evaluate.humaneval import sample_program
    from codealign.sandbox import Limits

    return [sample_program(p, p["canonical_solution"], Limits(timeout=5.0), str(i)) for i, p in enumerate(problems)]


def pool_programs():
    """The SelfCodeAlign few-shot pool's Python examples: responses and tests as a model writes them."""
    from codealign.records import Record
    from codealign.sandbox import Limits
    from codealign.synth.selfcodealign import SelfCodeAlign, load_pool

    method = SelfCodeAlign()
    out = []
    for i, example in enumerate(load_pool()):
        if example.get("language", "python") != "python":
            continue
        data = {"solution": example["response"], "tests": example["tests"]}
        program = method.program(Record("sample", data))
        out.append(program.model_copy(update={"id": str(i), "limits": Limits(timeout=5.0)}))
    return out


def programs(base, repeat: int, checks: tuple[str, ...]):
    return [p.model_copy(update={"id": f"{k}:{p.id}", "checks": checks}) for k in range(repeat) for p in base]


def run_variant(workers: int, batch) -> tuple[float, float, int]:
    """(programs/s, CPU ms per program, programs passed). CPU counts every process: this one, the workers (where
    the assert rewrite happens) and the programs, from a pool opened and closed for this batch alone."""
    import resource

    from codealign.sandbox import Sandbox

    def cpu() -> float:
        return sum(
            u.ru_utime + u.ru_stime
            for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )

    before = cpu()
    with Sandbox(workers=workers) as sandbox:  # no cache: every program really runs
        start = time.perf_counter()
        outcomes = sandbox.run_all(batch)
        elapsed = time.perf_counter() - start
    used = cpu() - before
    return len(batch) / elapsed, used / len(batch) * 1000, sum(o.passed for o in outcomes)


def coverage_py(problems, n: int) -> tuple[float, list[float]]:
    """coverage.py on each program as a file: (programs/s, line rates)."""
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, p in enumerate(problems[:n]):
            path = os.path.join(tmp, f"p{i}.py")
            with open(path, "w") as fh:
                fh.write(f"{p['prompt']}{p['canonical_solution']}\n{p['test']}\ncheck({p['entry_point']})\n")
            data = os.path.join(tmp, f"d{i}")
            subprocess.run([sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={data}", path],
                           check=True, capture_output=True)  # fmt: skip
            report = os.path.join(tmp, f"r{i}.json")
            subprocess.run([sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", report],
                           check=True, capture_output=True)  # fmt: skip
            with open(report) as fh:
                rates.append(json.load(fh)["totals"]["percent_covered"])
        return n / (time.perf_counter() - start), rates


def per_program(label: str, base, args, problems=None) -> None:
    variants = {"plain": (), "asserts": ("asserts",), "coverage": ("coverage",), "asserts+coverage": ("asserts", "coverage")}
    rates: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            rate, cpu, passed = run_variant(args.workers, programs(base, args.repeat, variants[name]))
            assert passed == len(base) * args.repeat, (name, passed)
            rates[name].append(rate)
            cpus[name].append(cpu)
    base_rate, base_cpu = statistics.median(rates["plain"]), statistics.median(cpus["plain"])
    print(f"\nper program: {label} ({len(base) * args.repeat} programs, {args.rounds} rounds, load {os.getloadavg()[0]:.1f})")
    print(f"{'variant':<18}{'programs/s':>14}{'CPU ms/program':>17}{'time vs plain':>15}{'CPU vs plain':>14}")
    for name in variants:
        rate, cpu = statistics.median(rates[name]), statistics.median(cpus[name])
        print(f"{name:<18}{rate:>14.1f}{cpu:>17.2f}{base_rate / rate:>14.2f}x{cpu / base_cpu:>13.2f}x")
    if args.coverage_py and problems is not None:
        rate, _ = coverage_py(problems, args.coverage_py)
        cov_rate = statistics.median(rates["coverage"])
        print(f"{'coverage.py':<18}{rate:>14.1f}{'':>17}  (codealign coverage / coverage.py: {cov_rate / rate:.1f}x the programs/s)")


def split_tests(problem, k: int, n: int) -> str | None:
    """The problem's check function keeping only its asserts i with i % n == k (None: it has none of them)."""
    tree = ast.parse(problem["test"])
    check = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "check")
    asserts = [i for i, stmt in enumerate(check.body) if isinstance(stmt, ast.Assert)]
    keep = {i for j, i in enumerate(asserts) if j % n == k}
    if not keep:
        return None
    check.body = [stmt for i, stmt in enumerate(check.body) if not isinstance(stmt, ast.Assert) or i in keep]
    return f"{ast.unparse(tree)}\n\ncheck({problem['entry_point']})\n"


def cross_check(problems, args) -> None:
    from codealign.cache import open_cache
    from codealign.pipeline.feedback import CrossCheckStep
    from codealign.records import Record
    from codealign.sandbox import Limits, Program, Sandbox
    from codealign.sandbox.mutants import mutants
    from codealign.synth.selfcodealign import SelfCodeAlign

    limits = Limits(timeout=5.0)
    groups = []
    for p in problems[: args.instructions]:
        instruction = Record("instruction", {"instruction": p["prompt"]})
        code = p["prompt"] + p["canonical_solution"]
        variants = [code, *(m.code for m in mutants(code, args.samples - 1))]
        group = []
        for k in range(args.samples):
            tests = split_tests(p, k, args.samples) or f"{p['test']}\ncheck({p['entry_point']})\n"
            data = {"solution": f"{FENCE}python\n{variants[k % len(variants)]}\n{FENCE}",
                    "tests": f"{FENCE}python\n{tests}{FENCE}", "sample_index": k}  # fmt: skip
            group.append(Record("sample", data, parents=(instruction.id,)))
        groups.append((instruction, group))
    with tempfile.TemporaryDirectory() as tmp, open_cache(tmp) as cache, Sandbox(workers=args.workers, cache=cache) as sb:
        start = time.perf_counter()
        base = sb.run_all([Program(id=s.id, code=s.data["solution"].split("\n", 1)[1].rsplit(FENCE, 1)[0],
                                   tests=s.data["tests"].split("\n", 1)[1].rsplit(FENCE, 1)[0], limits=limits)
                           for _, group in groups for s in group])  # fmt: skip
        base_seconds = time.perf_counter() - start
        outcomes = iter(base)
        items = [(i, [(instruction, s, next(outcomes)) for s in group]) for i, (instruction, group) in enumerate(groups)]
        step = CrossCheckStep(args.tests)
        ctx = SimpleNamespace(sandbox=sb, limits=limits, method=SelfCodeAlign())
        timings = []
        for _ in ("cold", "warm"):
            start = time.perf_counter()
            out = step.run_shard(0, items, ctx)
            timings.append((time.perf_counter() - start, out.marker["programs"], out.marker["hits"]))
    n_instr = len(groups)
    print(f"\ncross-checking ({n_instr} instructions x {args.samples} samples, T = {args.tests}, load {os.getloadavg()[0]:.1f})")
    print(f"executing the samples once: {len(base)} programs, {base_seconds / n_instr * 1000:.1f} ms per instruction")
    for label, (seconds, n_programs, hits) in zip(("empty cache", "warm cache"), timings, strict=True):
        print(f"cross-check, {label:<12}: {n_programs} programs ({hits} from the cache), "
              f"{seconds / n_instr * 1000:.1f} ms per instruction, {seconds / base_seconds:.2f}x the samples' own run")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--coverage-py", type=int, default=82, help="programs for the coverage.py line (0: skip)")
    parser.add_argument("--instructions", type=int, default=40)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--tests", type=int, default=5)
    args = parser.parse_args()
    from codealign.evaluate.benchmarks import load_benchmark

    problems = list(load_benchmark("humaneval"))
    per_program("HumanEval canonical solutions", humaneval_programs(problems), args, problems)
    per_program("the SelfCodeAlign few-shot pool (Python)", pool_programs(), args)
    cross_check(problems, args)


if __name__ == "__main__":
    main()
