"""HumanEval infilling (Bavarian et al., 2022; Fried et al., 2022): fill the hole between a prefix and a suffix.

Subsets: `single-line`, `multi-line`, `random-span`, `random-span-light` (`humaneval-infilling:multi-line`; the
default is single-line). The prompt is the model's own fill-in-the-middle format, found in the tokenizer files of a
local model folder, or named after the subset for a served model (`humaneval-infilling:single-line:starcoder`).
The program is prefix + the model's middle + suffix; the task's `check` runs on the entry point.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from codealign.errors import ConfigError, InputError
from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.suites import evalplus_data as ep
from codealign.evaluate.suites.humaneval import check_call

SUBSETS = {
    "single-line": "HumanEval-SingleLineInfilling",
    "multi-line": "HumanEval-MultiLineInfilling",
    "random-span": "HumanEval-RandomSpanInfilling",
    "random-span-light": "HumanEval-RandomSpanInfillingLight",
}
# name -> (prefix token, suffix token, middle token, text between); prompt = P prefix S suffix M (PSM order).
FIM_FORMATS: dict[str, tuple[str, str, str]] = {
    "starcoder": ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    "santacoder": ("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),
    "qwen": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    "codellama": ("<PRE> ", " <SUF>", " <MID>"),
    "deepseek": ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
}
_FIM_ENDS = ("<|endoftext|>", "<file_sep>", "<|file_sep|>", "<|fim_pad|>", "<fim_pad>", "<fim-pad>", " <EOT>",
             "<EOT>", "</s>", "<｜end▁of▁sentence｜>", "<|end_of_text|>")  # fmt: skip
HOW = ("humaneval-infilling:{subset} needs human-eval-infilling's {file}.jsonl.gz (in the data/ folder of "
       "openai/human-eval-infilling on GitHub): pass --data PATH or set HUMANEVAL_INFILLING_PATH")  # fmt: skip


def detect_fim(model_dir: str | Path) -> str | None:
    """The FIM format whose tokens a local model's tokenizer files hold, or None."""
    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        return None
    text = ""
    for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "tokenizer.json"):
        path = folder / name
        if path.exists():
            text += path.read_text(encoding="utf-8", errors="replace")[:5_000_000]
    for fmt, (pre, suf, mid) in FIM_FORMATS.items():
        tokens = [json.dumps(t.strip())[1:-1] for t in (pre, suf, mid)]
        if all(f'"{t}"' in text or f'"▁{t}"' in text for t in tokens):
            return fmt
    return None


class HumanEvalInfilling(Benchmark):
    name = "humaneval-infilling"
    version = "88062ff"  # the human-eval-infilling revision the subsets come from
    fim = True
    chat = False
    stop = _FIM_ENDS

    def __init__(self, arg: str | None = None, data: str | Path | None = None) -> None:
        super().__init__(arg, data)
        subset, _, fmt = (arg or "single-line").partition(":")
        if subset not in SUBSETS:
            raise ConfigError(f"unknown humaneval-infilling subset {subset!r}; known: {', '.join(SUBSETS)}")
        if fmt and fmt not in FIM_FORMATS:
            raise ConfigError(f"unknown fill-in-the-middle format {fmt!r}; known: {', '.join(FIM_FORMATS)}")
        self.subset = subset
        self.fim_format = fmt or None

    @property
    def label(self) -> str:
        return f"{self.name}:{self.subset}"

    def bind_model(self, config: Any) -> None:
        if self.fim_format is None and config is not None:
            self.fim_format = detect_fim(config.model)
        if self.fim_format is None:
            model = getattr(config, "model", None)
            raise ConfigError(
                f"humaneval-infilling needs the model's fill-in-the-middle tokens and found none in {model!r}: "
                f"name the format, e.g. --benchmark humaneval-infilling:{self.subset}:starcoder "
                f"({', '.join(FIM_FORMATS)})"
            )

    def load(self) -> list[Task]:
        file = SUBSETS[self.subset]
        path = self.data or (Path(os.environ["HUMANEVAL_INFILLING_PATH"]).expanduser()
                             if os.environ.get("HUMANEVAL_INFILLING_PATH") else None)  # fmt: skip
        if path is not None and path.is_dir():
            path = next((p for p in (path / f"{file}.jsonl.gz", path / f"{file}.jsonl") if p.exists()), path)
        if path is not None:
            rows, self.sha256 = ep.read_rows(path)
            self.source = str(path)
        else:
            found = ep.from_hub("loubnabnl/humaneval_infilling", file)
            if found is None:
                raise InputError(HOW.format(subset=self.subset, file=file))
            rows, self.sha256 = found
            self.source = f"hf:loubnabnl/humaneval_infilling/{file}"
        ep.check_rows(self.source, rows, ("task_id", "prompt", "suffix", "test", "entry_point"))
        return [Task(task_id=str(r["task_id"]), prompt=r["prompt"], suffix=r["suffix"], entry_point=r["entry_point"],
                     tests=r["test"], canonical_solution=r.get("canonical_solution", ""), data=r)
                for r in rows]  # fmt: skip

    def completion_prompt(self, task: Task) -> str:
        if self.fim_format is None:
            self.bind_model(None)
        pre, suf, mid = FIM_FORMATS[self.fim_format]  # type: ignore[index]
        return f"{pre}{task.prompt}{suf}{task.suffix or ''}{mid}"

    def from_completion(self, task: Task, text: str) -> str:
        return self.join(task, text)  # the middle needs no cut: the model ends it with its end-of-text token

    def tests_for(self, task: Task) -> str:
        return check_call(task.tests, task.entry_point)
