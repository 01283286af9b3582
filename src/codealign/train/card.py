"""The model card (README.md of the output folder): base model, data with counts and seed licenses, the recipe,
the results and the loss curve, and how to load and serve the model. Written from the run summary alone.
"""

from __future__ import annotations

from typing import Any


def _yaml_front(summary: dict[str, Any]) -> str:
    cfg = summary["config"]
    tags = ["codealign", cfg["stage"], "trl", "code"] + (["lora", "peft"] if cfg["peft"] != "none" else [])
    lines = ["---", f"base_model: {cfg['model']}",
             f"library_name: {'peft' if cfg['peft'] != 'none' and not cfg['merge'] else 'transformers'}",
             "pipeline_tag: text-generation", "tags:", *[f"- {t}" for t in tags], "---"]  # fmt: skip
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def render_card(summary: dict[str, Any]) -> str:
    cfg, res, data = summary["config"], summary["results"], summary["data"]
    stage = {"sft": "supervised fine-tuning (SFT)", "dpo": "direct preference optimisation (DPO)"}[cfg["stage"]]
    how = {"none": "every weight", "lora": "a LoRA adapter", "qlora": "a LoRA adapter on a 4-bit base (QLoRA)"}[cfg["peft"]]
    parts = [_yaml_front(summary), "",
             f"# {summary['name']}", "",
             f"`{cfg['model']}` after {stage} of {how} with `codealign train`, on "
             f"{res['train_examples']:,} examples in the `{cfg['format']}` format ({summary['loss']}).", ""]  # fmt: skip

    parts += ["## Data", ""]
    rows = []
    for s in data["sources"]:
        dropped = ", ".join(f"{r}: {n}" for r, n in s["dropped"].items()) or "none"
        rows.append([f"`{s['path']}`", s["format"], s["weight"], s["rows"], s["examples"], s["eval"], s["train"], dropped])
    parts += [_table(["source", "format", "weight", "rows", "examples", "eval", "train", "dropped (reason: rows)"], rows), ""]
    parts += ["Examples over `max_length` are dropped and counted above, never cut into an empty target."
              if cfg["format"] not in ("completion", "repo") else
              "Sequences over `max_length` are split into windows (or dropped with `overflow: drop`).", ""]  # fmt: skip
    for run in summary.get("runs", []):
        parts += [f"From the codealign run `{run['run_dir']}`"
                  + (f" (config hash `{run['config_hash']}`)" if run.get("config_hash") else "") + ":", ""]  # fmt: skip
        if run.get("final"):
            parts += [f"- final dataset: {run['final'].get('sft', 0)} SFT examples, {run['final'].get('dpo', 0)} DPO pairs"]
        if run.get("seed_licenses"):
            lic = ", ".join(f"{k} ({v})" for k, v in run["seed_licenses"].items())
            parts += [f"- licenses of the seeds behind the examples: {lic}"]
        parts += [""]
    if summary["vocab_notes"]:
        parts += ["Tokenizer changes: " + "; ".join(summary["vocab_notes"]) + ".", ""]
    parts += [f"Data fingerprint (every token trained on): `{data['fingerprint']}`.", ""]

    parts += ["## Training", ""]
    hp = [["stage", cfg["stage"]], ["weights", how], ["learning rate", cfg["learning_rate"]],
          ["scheduler", f"{cfg['scheduler']}, warmup ratio {cfg['warmup_ratio']}"], ["optimizer", cfg["optimizer"]],
          ["epochs", cfg["max_steps"] and f"{cfg['max_steps']} steps" or cfg["epochs"]],
          ["batch", f"{summary['batch']['global']} per step ({summary['batch']['per_device']} per device x "
                    f"{summary['batch']['accumulation']} accumulation x {summary['batch']['processes']} processes)"],
          ["max length", cfg["max_length"]], ["dropout", cfg["dropout"]],
          ["gradient clipping", cfg["max_grad_norm"] or "none"], ["weight decay", cfg["weight_decay"]], ["seed", cfg["seed"]]]  # fmt: skip
    if cfg["stage"] == "dpo":
        hp += [["beta", cfg["beta"]], ["loss", cfg["loss_type"]]]
    if cfg["peft"] != "none":
        lo = cfg["lora"]
        hp += [["LoRA", f"r {lo['r']}, alpha {lo['alpha']}, dropout {lo['dropout']}, targets {lo['target_modules']}"]]
    if cfg["format"] == "fim":
        hp += [["FIM", f"rate {cfg['fim']['rate']}, SPM rate {cfg['fim']['spm_rate']}"]]
    if cfg["format"] == "repo":
        hp += [["repository packing", f"{cfg['repo']['orders']} orders, metadata rate {cfg['repo']['metadata_rate']}"]]
    parts += [_table(["setting", "value"], hp), ""]
    parts += [f"Versions: {', '.join(f'{k} {v}' for k, v in summary['versions'].items())}.", ""]

    parts += ["## Results", ""]
    figures = [["steps", res["steps"]], ["epochs", f"{res['epochs']:.2f}"],
               ["train loss (first / last logged)", f"{res.get('first_loss', 'n/a')} / {res.get('last_loss', 'n/a')}"],
               ["eval loss", res.get("eval_loss") if res.get("eval_loss") is not None else "no eval split"],
               ["tokens trained", f"{res['tokens']:,}"], ["time", f"{res['seconds']:.1f} s"]]  # fmt: skip
    if res.get("rewards/margins") is not None:
        figures += [["reward margin (last logged)", f"{res['rewards/margins']:.4f}"],
                    ["reward accuracy (last logged)", f"{res['rewards/accuracies']:.4f}"]]  # fmt: skip
    parts += [_table(["figure", "value"], figures), "", "![loss curve](loss_curve.svg)", "",
              "Every logged step is in `train_log.jsonl`; `train_summary.json` holds all of the above.", ""]  # fmt: skip

    parts += ["## Use", "", "```yaml", "backend:                # codealign run / evaluate, in-process",
              "  type: transformers", "  model: path/to/this/folder", "```", "",
              "```bash", "transformers serve path/to/this/folder    # an OpenAI-compatible server",
              "vllm serve path/to/this/folder", "```", ""]  # fmt: skip
    if cfg["format"] == "instruction":
        parts += ["Prompts follow the training template; the saved chat template renders chat messages the same way, "
                  "so chat requests to a server get the prompt the model was trained on.", ""]  # fmt: skip
    if cfg["peft"] != "none":
        where = "`adapter/`" if cfg["merge"] else "this folder"
        parts += [f"The LoRA adapter alone is in {where} (PEFT format)"
                  + (", and the weights here have it merged in." if cfg["merge"] else ".") , ""]  # fmt: skip
    return "\n".join(parts)
