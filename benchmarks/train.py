"""Benchmark `codealign train` against the plain TRL script a user would otherwise write, same model, data and
settings, in the same run.

    .venv/bin/python benchmarks/train.py                      # 3 rounds of each, 60 steps, a 4-layer 256-wide Llama
    .venv/bin/python benchmarks/train.py --rounds 1 --steps 30

Each run is a fresh process, so start-up (imports, model and data loading) is part of the figures. Both sides train
the same random Llama (built by `codealign.testing.tiny_model`, wider and deeper than the test model) on the same
instruction rows (functions of the standard library with their docstrings as instructions), in SelfCodeAlign's
prompt layout with the loss on the response, same optimizer, learning rate, batch, length, seed and checkpointing.
The plain script hands TRL prompt/completion text and lets it tokenize; codealign tokenizes with its formats.

Printed per run and as medians: wall time and CPU time (user + system) of the whole process, time to the first
optimizer step, steady-state tokens/s (non-padding tokens between step 10 and the last step, over the wall time and
over the process CPU time between them), and peak RSS; then the ratios codealign / TRL. Runs alternate (codealign,
TRL, TRL, codealign, ...) so drift on a shared machine falls on both sides; on a loaded machine compare the CPU
figures, which other processes do not inflate.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

PROMPT = ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
          "responses to user instructions.\n\n### Instruction\n{}\n\n### Response\n")
WARM = 10  # steps before the steady-state window


def build_data(path: Path, n: int, model: Path, max_length: int = 512) -> Path:
    """`n` rows of instruction = docstring, response = function source, from the standard library (sorted paths),
    each short enough for `max_length` tokens, so neither side drops (codealign) or cuts (TRL) an example."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)

    def fits(row: dict) -> bool:
        return len(tok(PROMPT.format(row["instruction"]) + row["response"])["input_ids"]) + 1 <= max_length

    rows: list[dict] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for file in sorted(stdlib.glob("*.py")):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.end_lineno and ast.get_docstring(node):
                code = textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno]))
                doc = ast.get_docstring(node)
                row = {"instruction": doc, "response": code}
                if 40 <= len(doc) <= 400 and 100 <= len(code) <= 900 and fits(row):
                    rows.append(row)
        if len(rows) >= n:
            break
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:n]), encoding="utf-8")
    return path


def settings(args: argparse.Namespace) -> dict:
    return {"learning_rate": 1e-4, "optimizer": "adamw_torch", "batch_size": args.batch, "per_device_batch_size": args.batch,
            "max_steps": args.steps, "max_length": 512, "seed": 42, "warmup_ratio": 0.0, "scheduler": "linear",
            "gradient_checkpointing": False, "logging_steps": 1, "save_steps": 1000, "eval_size": 0, "dropout": None,
            "max_grad_norm": 1.0}  # fmt: skip


def worker_codealign(args: argparse.Namespace, model: Path, data: Path, out: Path) -> list[dict]:
    import yaml

    from codealign.cli import main

    cfg = out.parent / f"{out.name}.yaml"
    cfg.write_text(yaml.safe_dump({"model": str(model), "data": str(data), "output_dir": str(out), **settings(args)}))
    try:
        main(["train", str(cfg), "-q"])
    except SystemExit as exc:
        if exc.code:
            raise
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [{"step": r["step"], "tokens": r["tokens_seen"], "time": r["time"], "cpu": r["cpu_s"]} for r in rows if "loss" in r]


def worker_trl(args: argparse.Namespace, model: Path, data: Path, out: Path) -> list[dict]:
    """What a user writes with TRL alone: prompt/completion text, SFTTrainer, the same settings."""
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    s = settings(args)
    tokenizer = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    ds = load_dataset("json", data_files=str(data), split="train")
    ds = ds.map(lambda r: {"prompt": PROMPT.format(r["instruction"]), "completion": r["response"]},
                remove_columns=["instruction", "response"])  # fmt: skip
    log: list[dict] = []

    class Times(TrainerCallback):
        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                log.append({"step": state.global_step, "tokens": state.num_input_tokens_seen, "time": time.time(),
                            "cpu": time.process_time()})  # fmt: skip

    config = SFTConfig(
        output_dir=str(out), learning_rate=s["learning_rate"], optim=s["optimizer"], per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=1, max_steps=args.steps, max_length=s["max_length"], seed=42, data_seed=42,
        warmup_steps=0.0, lr_scheduler_type="linear", activation_checkpointing=False, logging_steps=1,
        save_strategy="steps", save_steps=1000, report_to="none", use_cpu=True, bf16=False,
        include_num_input_tokens_seen="non_padding", disable_tqdm=True, max_grad_norm=1.0, logging_first_step=True,
    )  # fmt: skip
    trainer = SFTTrainer(model=lm, args=config, train_dataset=ds, processing_class=tokenizer, callbacks=[Times()])
    trainer.train()
    trainer.save_model(str(out / "final"))
    return log


def run_one(kind: str, args: argparse.Namespace, work: Path, n: int) -> dict:
    out = work / f"{kind}-{n}"
    cmd = [sys.executable, __file__, "--worker", kind, "--work", str(work), "--out", str(out), "--steps", str(args.steps),
           "--batch", str(args.batch)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode:
        sys.exit(f"{kind} run failed:\n{res.stderr[-3000:]}")
    report = json.loads(res.stdout.strip().splitlines()[-1])
    steps = report["log"]
    first = next(r for r in steps if r["step"] >= 1)
    warm = next(r for r in steps if r["step"] >= WARM)
    last = steps[-1]
    return {"kind": kind, "wall_s": wall, "cpu_s": cpu, "first_step_s": first["time"] - began,
            "steady_tokens_per_s": (last["tokens"] - warm["tokens"]) / (last["time"] - warm["time"]),
            "steady_tokens_per_cpu_s": (last["tokens"] - warm["tokens"]) / (last["cpu"] - warm["cpu"]),
            "tokens": last["tokens"], "steps": last["step"], "peak_rss_mb": report["peak_rss_mb"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of both sides (0: torch's default)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/codealign-bench-train"))
    parser.add_argument("--worker", choices=("codealign", "trl"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    model, data = args.work / "model", args.work / "data.jsonl"
    if args.worker:
        log = (worker_codealign if args.worker == "codealign" else worker_trl)(args, model, data, args.out)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"log": log, "peak_rss_mb": peak}))
        return

    import shutil

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    from codealign.testing.tiny_model import build_tiny_model

    build_tiny_model(model, hidden_size=args.hidden_size, layers=args.layers)
    build_data(data, args.rows, model)
    print(f"model: Llama {args.layers} layers x {args.hidden_size}, vocab 1024; data: {args.rows} rows; "
          f"{args.steps} steps of batch {args.batch}, max length 512, CPU, {os.cpu_count()} cores")  # fmt: skip
    results: dict[str, list[dict]] = {"codealign": [], "trl": []}
    order = ["codealign", "trl", "trl", "codealign"] * ((args.rounds + 1) // 2)
    for n, kind in enumerate(order[: 2 * args.rounds]):
        r = run_one(kind, args, args.work, n)
        results[kind].append(r)
        print(f"{kind:>9}: wall {r['wall_s']:6.1f} s  CPU {r['cpu_s']:6.1f} s  first step {r['first_step_s']:5.1f} s  "
              f"steady {r['steady_tokens_per_s']:6,.0f} tokens/s, {r['steady_tokens_per_cpu_s']:6,.0f} per CPU s  peak RSS {r['peak_rss_mb']:6.0f} MiB  "
              f"({r['steps']} steps, {r['tokens']:,} tokens)", flush=True)  # fmt: skip
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("wall_s", "cpu_s", "first_step_s", "steady_tokens_per_s", "steady_tokens_per_cpu_s", "peak_rss_mb")}
           for k, v in results.items()}  # fmt: skip
    print("\nmedians            codealign        TRL   codealign / TRL")
    for f, label in (("wall_s", "wall s"), ("cpu_s", "CPU s"), ("first_step_s", "first step s"), ("steady_tokens_per_s", "tokens/s"),
                     ("steady_tokens_per_cpu_s", "tokens/CPU s"),
                     ("peak_rss_mb", "peak RSS MiB")):  # fmt: skip
        a, b = med["codealign"][f], med["trl"][f]
        print(f"{label:<16} {a:>11,.1f} {b:>10,.1f}   {a / b:>8.3f}")


if __name__ == "__main__":
    main()
