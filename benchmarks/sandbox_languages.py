"""Programs per second per language: codealign's sandbox vs a plain subprocess per program, same run, same verdicts.

The plain harness is MultiPL-E's way of executing: for each program a fresh folder, the compiler as a subprocess,
then the program as a subprocess, each with a timeout; a pass is exit status 0. It runs the same compile and run
commands codealign's runners use (same flags), in a thread pool as wide as codealign's worker pool, with no isolation
at all. codealign runs the same programs in its jailed workers with every limit on and no outcome cache. Each program
is distinct (as model samples are), half correct and half failing an assertion, so no build is reused. Rounds are
interleaved per language; the median programs/s of each harness and their ratio are printed, and the script fails
unless both harnesses give the same verdict for every program.

    .venv/bin/python benchmarks/sandbox_languages.py [--programs 24] [--rounds 3] [--workers 2] [--languages cpp,rust]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _program(language: str, i: int, correct: bool) -> tuple[str, str]:
    """A small function and its tests, in the style of MultiPL-E's translations; `i` makes every source distinct."""
    off = 0 if correct else 1
    want = 3 + i
    if language == "python":
        return f"def total_{i}(xs):\n    return sum(xs) + {off}\n", f"assert total_{i}([1, 2, {i}]) == {want}\n"
    if language == "javascript":
        return (f"function total{i}(xs) {{ return xs.reduce((a, b) => a + b, {off}); }}\n",
                f"const assert = require('assert');\nassert.strictEqual(total{i}([1, 2, {i}]), {want});\n")  # fmt: skip
    if language == "typescript":
        return (f"function total{i}(xs: number[]): number {{ return xs.reduce((a, b) => a + b, {off}); }}\n",
                "declare var require: any;\nconst assert = require('node:assert');\n"
                f"assert.deepEqual(total{i}([1, 2, {i}]), {want});\n")  # fmt: skip
    if language == "cpp":
        return (f"#include <cassert>\n#include <vector>\n\nlong total_{i}(const std::vector<long>& xs) {{\n"
                f"    long s = {off};\n    for (long x : xs) s += x;\n    return s;\n}}\n",
                f"int main() {{\n    assert(total_{i}({{1, 2, {i}}}) == {want});\n}}\n")  # fmt: skip
    if language == "rust":
        return (f"fn total_{i}(xs: &[i64]) -> i64 {{\n    xs.iter().sum::<i64>() + {off}\n}}\n",
                f"fn main() {{\n    assert_eq!(total_{i}(&[1, 2, {i}]), {want});\n}}\n")  # fmt: skip
    if language == "go":
        return (f"package main\n\nfunc total{i}(xs []int) int {{\n\ts := {off}\n\tfor _, x := range xs {{\n"
                "\t\ts += x\n\t}\n\treturn s\n}\n",
                f'func main() {{\n\tif total{i}([]int{{1, 2, {i}}}) != {want} {{\n\t\tpanic("wrong")\n\t}}\n}}\n')  # fmt: skip
    if language == "java":
        return (f"import java.util.*;\n\nclass Problem {{\n    public static long total{i}(long[] xs) {{\n"
                f"        long s = {off};\n        for (long x : xs) s += x;\n        return s;\n    }}\n",
                f"    public static void main(String[] args) {{\n"
                f"    assert(total{i}(new long[] {{1l, 2l, {i}l}}) == {want}l);\n    }}\n}}\n")  # fmt: skip
    if language == "shell":
        return (f"total_{i}() {{\n  local s={off}\n  for x in \"$@\"; do s=$((s + x)); done\n  echo \"$s\"\n}}\n",
                f"set -e\n[[ $(total_{i} 1 2 {i}) = \"{want}\" ]]\n")  # fmt: skip
    raise ValueError(language)


# ---------------------------------------------------------------------------------------------------------------
# The plain harness: the same compile and run commands as codealign's runners, one subprocess each, no isolation.


def _plain_commands(language: str, folder: str, code: str, tests: str) -> list[tuple[list[str], float]]:
    from codealign.sandbox.languages import java, rust, typescript

    source = code + "\n" + tests + "\n"

    def write(name: str, text: str) -> str:
        path = os.path.join(folder, name)
        Path(path).write_text(text)
        return path

    exe = os.path.join(folder, "prog")
    if language == "python":
        return [([sys.executable, write("main.py", source)], 10)]
    if language == "javascript":
        return [(["node", write("main.js", code + "\n;\n" + tests)], 10)]
    if language == "typescript":
        write("main.ts", code + "\n;\n" + tests + "\n")
        write("codealign-globals.d.ts", typescript._GLOBALS)
        flags = [f if f != "build" else os.path.join(folder, "build") for f in typescript._FLAGS]
        return [(["tsc", *flags, os.path.join(folder, "main.ts"), os.path.join(folder, "codealign-globals.d.ts")], 30),
                (["node", os.path.join(folder, "build", "main.js")], 10)]  # fmt: skip
    if language == "cpp":
        return [(["g++", "-std=c++17", "-o", exe, write("main.cpp", source)], 30), ([exe], 10)]
    if language == "rust":
        flags = rust._FLAGS[:-2]  # all but the link-time wrapper of main, which reports to codealign
        return [(["rustc", *flags, "-o", exe, write("main.rs", source)], 30), ([exe], 10)]
    if language == "go":
        # A fresh build cache per program, as in codealign's jail, where the working folder is emptied each time.
        cache = os.path.join(folder, ".gocache")
        return [(["env", f"GOCACHE={cache}", "GOPROXY=off", "go", "build", "-o", exe, write("main.go", source)], 30),
                ([exe], 10)]  # fmt: skip
    if language == "java":
        out = os.path.join(folder, "build")
        jvm = java._jvm_flags(4096)
        return [(["javac", *(f"-J{f}" for f in jvm), "-J-XX:TieredStopAtLevel=1", "-encoding", "UTF-8",
                  "-proc:none", "-nowarn", "-d", out, write("Main.java", source)], 30),
                (["java", "-ea", *jvm, "-cp", out, "Problem"], 10)]  # fmt: skip
    if language == "shell":
        return [(["bash", write("main.sh", source)], 10)]
    raise ValueError(language)


def _plain_one(language: str, code: str, tests: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="plain-") as folder:
        for argv, timeout in _plain_commands(language, folder, code, tests):
            try:
                done = subprocess.run(argv, cwd=folder, capture_output=True, timeout=timeout,
                                      start_new_session=True)  # fmt: skip
            except subprocess.TimeoutExpired:
                return False
            if done.returncode != 0:
                return False
    return True


def run_plain(language: str, programs: list[tuple[str, str]], workers: int) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda p: _plain_one(language, *p), programs))
    return time.perf_counter() - start, verdicts


def run_codealign(language: str, programs: list[tuple[str, str]], workers: int) -> tuple[float, list[bool], str]:
    from codealign.sandbox import Program, Sandbox

    items = [Program(id=str(i), language=language, code=c, tests=t) for i, (c, t) in enumerate(programs)]
    with Sandbox(workers=workers, languages=[language]) as sb:  # no cache: every program really runs
        start = time.perf_counter()
        outcomes = sb.run_all(items)
        elapsed = time.perf_counter() - start
        mode = sb.isolation
    bad = [o for o in outcomes if o.status.value not in ("passed", "failed")]
    if bad:
        raise SystemExit(f"{language}: unexpected outcome {bad[0].status.value}: {bad[0].error} {bad[0].stderr[-400:]}")
    return elapsed, [o.passed for o in outcomes], mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=24, help="distinct programs per language (half pass)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--languages", default="python,javascript,typescript,cpp,java,go,rust,shell")
    args = parser.parse_args()

    from codealign.registry import LANGUAGES

    rows, same = [], True
    for language in args.languages.split(","):
        runner = LANGUAGES.get(language)()
        if not runner.available():
            print(f"{language}: skipped ({runner.missing() if hasattr(runner, 'missing') else 'not installed'})")
            continue
        programs = [_program(language, i, i % 2 == 0) for i in range(args.programs)]
        rates: dict[str, list[float]] = {"codealign": [], "plain": []}
        verdicts: dict[str, list[bool]] = {}
        mode = ""
        for r in range(args.rounds):
            t, verdicts["codealign"], mode = run_codealign(language, programs, args.workers)
            rates["codealign"].append(len(programs) / t)
            t, verdicts["plain"] = run_plain(language, programs, args.workers)
            rates["plain"].append(len(programs) / t)
            print(f"{language} round {r + 1}: codealign {rates['codealign'][-1]:.2f}/s, plain {rates['plain'][-1]:.2f}/s",
                  flush=True)  # fmt: skip
        agree = verdicts["codealign"] == verdicts["plain"] == [i % 2 == 0 for i in range(args.programs)]
        same = same and agree
        med = {k: statistics.median(v) for k, v in rates.items()}
        rows.append((language, med, rates, agree, mode))

    print(f"\n{args.programs} programs per language, {args.rounds} rounds, {os.cpu_count()} CPUs, "
          f"{args.workers} workers (codealign) / threads (plain)")  # fmt: skip
    print(f"{'language':<11} {'codealign/s':>12} {'range':>13} {'plain/s':>9} {'range':>13} {'ratio':>6}  same verdicts")
    for language, med, rates, agree, mode in rows:
        c, p = rates["codealign"], rates["plain"]
        print(f"{language:<11} {med['codealign']:>12.2f} {min(c):>6.2f}-{max(c):<6.2f} {med['plain']:>9.2f} "
              f"{min(p):>6.2f}-{max(p):<6.2f} {med['codealign'] / med['plain']:>5.2f}x  {agree} ({mode})")  # fmt: skip
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
