"""Orchestration cost of `codealign run`: time per record outside LLM calls and execution, and peak memory.

For each size, one process fills a fresh cache by running the pipeline with an in-process scripted model (the
answers of codealign.testing's scripted server, no HTTP), then a second process runs the same config into a new
run directory with the `replay` backend: every LLM answer and every execution comes from the cache, so what is
left is the runner itself (reading and writing shards, building requests, parsing, records, markers) plus the
cache lookups, which the script times separately. Stated baseline: the orchestration must stay under 1 ms per
record, and the memory of the stages must not grow with the number of seeds.

    .venv/bin/python benchmarks/pipeline.py                 # 2,500 and 10,000 seeds
    .venv/bin/python benchmarks/pipeline.py --sizes 1000    # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "examples" / "seeds.jsonl"


def make_seeds(path: Path, n: int) -> None:
    """n distinct seeds: the example seeds, each with a numbered comment so their content (and ids) differ."""
    base = [json.loads(line) for line in SEEDS.read_text().splitlines() if line.strip()]
    with path.open("w") as fh:
        for i in range(n):
            row = dict(base[i % len(base)])
            row["seed"] = f"# variant {i}\n{row['seed']}"
            fh.write(json.dumps(row) + "\n")


def overrides(work: Path, run_dir: Path, backend: str) -> list[str]:
    return [
        f"run_dir={run_dir}",
        f"seeds.path={work / 'seeds.jsonl'}",
        f"backend.type={backend}",
        "backend.model=scripted",
        "method_options.response_samples=4",
        "execution.timeout=1",
        "execution.workers=2",
    ]


def scripted_backend_class() -> type:
    from codealign.llm.backend import Backend, Job, JobResult
    from codealign.llm.base import Completion
    from codealign.testing.server import Script, cut

    class ScriptedBackend(Backend):
        """The scripted server's answers, in process."""

        name = "scripted"
        script = Script()

        def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
            for job in jobs:
                opts = job.request.options
                result = JobResult(job)
                for sample, seed in zip(job.samples, job.seeds, strict=True):
                    _, _, [(_, raw)] = self.script.texts(job.request.prompt or "", 1, seed)
                    text, finish, tokens = cut(raw, list(opts.stop), opts.max_tokens)
                    result.completions[sample] = Completion(text=text, finish_reason=finish, index=sample)
                    result.completion_tokens[sample] = tokens
                yield result

    return ScriptedBackend


def phase(kind: str, work: Path) -> dict:
    from codealign.cache import open_cache
    from codealign.config import load_config
    from codealign.pipeline import RunConfig
    from codealign.pipeline.finalize import finalize
    from codealign.pipeline.runner import Runner
    from codealign.registry import BACKENDS
    from codealign.runs import RunDir, flatten

    if kind == "fill":
        BACKENDS.register("scripted", f"{__name__}:ScriptedBackend")
        globals()["ScriptedBackend"] = scripted_backend_class()
        config = load_config(RunConfig, REPO / "examples" / "demo.yaml", overrides(work, work / "fill", "scripted"))
    else:
        config = load_config(RunConfig, REPO / "examples" / "demo.yaml", overrides(work, work / "measured", "replay"))
    cache = open_cache(work / "cache")
    timers = {"llm_s": 0.0, "execution_s": 0.0}
    runner = Runner(config, cache)
    RunDir(config.run_dir).check_and_write_config(config.model_dump(mode="json"), flatten(config.fixed()))

    def timed(name: str, fn):  # noqa: ANN001, ANN202 - a wrapper only the benchmark uses
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - started

        return wrapper

    runner.backend.generate = timed("llm_s", runner.backend.generate)
    runner.sandbox.run_all = timed("execution_s", runner.sandbox.run_all)
    # The method's own hooks (prompt building, parsing, program extraction) run inside the orchestration; timing
    # them apart shows what the runner itself costs.
    timers["method_hooks_s"] = 0.0
    runner.method.program = timed("method_hooks_s", runner.method.program)
    for stage in runner.method.stages:
        stage.request = timed("method_hooks_s", stage.request)
        stage.parse = timed("method_hooks_s", stage.parse)
    started = time.perf_counter()
    plan = runner.run_stages()
    stages_s = time.perf_counter() - started
    stages_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    funnel = finalize(runner.rd, config, plan, runner.stats)
    select_s = time.perf_counter() - started
    runner.close()
    records = sum(s["out"] for s in funnel["stages"].values()) + funnel["stages"]["execute"]["in"]
    orchestration = stages_s - timers["llm_s"] - timers["execution_s"]
    return {
        "seeds": funnel["stages"]["seeds"]["out"],
        "samples": funnel["stages"]["execute"]["in"],
        "records": records,
        "stages_s": round(stages_s, 3),
        **{k: round(v, 3) for k, v in timers.items()},
        "orchestration_s": round(orchestration, 3),
        "orchestration_ms_per_record": round(1000 * orchestration / max(records, 1), 4),
        "runner_only_ms_per_record": round(1000 * (orchestration - timers["method_hooks_s"]) / max(records, 1), 4),
        "select_and_write_s": round(select_s, 3),
        "peak_rss_stages_mib": round(stages_rss, 1),
        "peak_rss_total_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sft": funnel["final"]["sft"],
    }


def run_size(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="codealign-bench-") as tmp:
        work = Path(tmp)
        make_seeds(work / "seeds.jsonl", n)
        for kind in ("fill", "measure"):
            done = subprocess.run(
                [sys.executable, __file__, "--phase", kind, "--work", str(work)], capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 10000])
    parser.add_argument("--phase", choices=["fill", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.work)))
        return
    rows = [run_size(n) for n in args.sizes]
    keys = list(rows[0])
    print(f"{'':30}" + "".join(f"{n:>14,}" for n in args.sizes))
    for key in keys[1:]:
        print(f"{key:30}" + "".join(f"{row[key]:>14}" for row in rows))
    worst = max(row["orchestration_ms_per_record"] for row in rows)
    print(f"\norchestration: {worst:.3f} ms per record at worst (target < 1 ms): {'met' if worst < 1 else 'NOT met'}")
    growth = rows[-1]["peak_rss_stages_mib"] / rows[0]["peak_rss_stages_mib"]
    print(f"peak memory of the stages grows x{growth:.2f} for x{args.sizes[-1] / args.sizes[0]:.0f} seeds")


if __name__ == "__main__":
    main()
