"""Self-Instruct (Code Alpaca): new tasks bootstrapped from seed tasks, kept only when they are novel.

Stages: `tasks` (each seed read as a task: a seed function's signature and docstring, or the text of an instruction
seed, see `synth.tasks`), `bootstrap` and `response` (SelfCodeAlign's I->R, with tests unless `tests: false`).

`bootstrap` makes one prompt per seed task: a numbered list of `human_shots` human tasks (that seed's own task and
others drawn from the seeds and the built-in Code Alpaca-style tasks) and `generated_shots` tasks generated
earlier, shuffled; the model continues the list with up to `new_tasks` tasks. Each new task must pass, in order:

  too_short / too_long            fewer than `min_words` or more than `max_words` words
  starts_with_punctuation         it does not start with a letter or digit
  not_english                     its first letter is not ASCII
  unsupported_keyword:<word>      it asks for pictures, sound or plots (Self-Instruct's list, without "file",
                                  "map" and "graph", which are ordinary words in programming tasks)
  similar_to_existing             ROUGE-L F1 >= `rouge_threshold` (0.7) against any human task or any task kept
                                  so far, this shard's earlier ones included (the reject names the closest task)

The pool grows as the run goes, so the stage is sequential: shard s sees the tasks kept by shards < s, read back
from their files on resume (`observe`), and a resumed run keeps exactly the tasks an uninterrupted one keeps.
"""

from __future__ import annotations

import random
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field

from codealign.llm.base import ChatMessage, Request, SamplingOptions
from codealign.records import Record, iter_jsonl
from codealign.synth.base import LLMStage, Method, Out, ParseError, Stage
from codealign.synth.fewshot import PROMPTS, GenerationOptions, item_seed, load_templates, prompt_set_hash
from codealign.synth.respond import prompt_parts, response_stage
from codealign.synth.rouge import RougeIndex
from codealign.synth.tasks import SeedTasks

KEYWORDS = (
    "image", "images", "picture", "pictures", "photo", "photos", "video", "videos", "audio", "music", "sound",
    "draw", "drawing", "plot", "plots", "chart", "charts", "diagram", "flowchart",
)  # fmt: skip
_TASK_LINE = re.compile(r"^[ \t]*(?:\d+\s*[.)]|task\s*\d+\s*[:.])[ \t]*", re.I | re.M)


class SelfInstructOptions(GenerationOptions):
    """Options of `self-instruct`; Self-Instruct's 6 human + 2 generated in-context tasks and ROUGE-L 0.7."""

    human_shots: int = Field(6, ge=1, description="human (seed) tasks per prompt, the seed's own task first")
    generated_shots: int = Field(2, ge=0, description="tasks generated earlier per prompt")
    new_tasks: int = Field(8, ge=1, description="new tasks asked for per prompt")
    rouge_threshold: float = Field(0.7, gt=0.0, le=1.0, description="a task this similar to a known one is dropped")
    min_words: int = Field(3, ge=1)
    max_words: int = Field(150, ge=1)
    keywords: tuple[str, ...] = Field(KEYWORDS, description="tasks mentioning these words are dropped")
    builtin_tasks: bool = Field(True, description="add the built-in Code Alpaca-style tasks to the human tasks")
    response_shots: int = Field(1, ge=0, description="few-shot examples in I->R prompts")
    response_samples: int = Field(10, ge=1, description="responses per instruction")
    tests: bool = Field(True, description="responses end with tests, so they are executed and selected")
    language: str = Field("python", description="language of the tasks")


def split_tasks(text: str) -> list[str]:
    """The tasks of a numbered list (`Task 9: ...`, `9. ...`); text before the first number is the first task,
    because a completion prompt ends with the number of the first task to write."""
    parts = _TASK_LINE.split(text)
    return [" ".join(part.split()) for part in parts if part.strip()]


def task_reason(task: str, options: SelfInstructOptions) -> str | None:
    words = task.split()
    if len(words) < options.min_words:
        return "too_short"
    if len(words) > options.max_words:
        return "too_long"
    if not task[0].isalnum():
        return "starts_with_punctuation"
    if not task[0].isascii():
        return "not_english"
    lowered = task.lower()
    for keyword in options.keywords:
        if re.search(rf"\b{re.escape(keyword)}\b", lowered):
            return f"unsupported_keyword:{keyword}"
    return None


class BootstrapStage(LLMStage):
    name = "bootstrap"
    consumes = "instruction"
    produces = ("instruction",)
    sequential = True

    def __init__(self, method: SelfInstruct) -> None:
        self.method = method
        self.options: SelfInstructOptions = method.options
        self.templates = method.templates
        self.humans: list[str] = []
        self.generated: list[str] = []
        self.index = RougeIndex()
        self._committed = 0

    def start(self, read: Any) -> None:
        seeds = [r.data["instruction"] for r in read("instruction")]
        builtin = self.method.builtin_tasks if self.options.builtin_tasks else []
        self.humans = list(dict.fromkeys([*seeds, *builtin]))
        self.generated = []
        self.index = RougeIndex()
        for task in self.humans:
            self.index.add(task)
        self._committed = len(self.index)

    def observe(self, records: list[Record]) -> None:
        # The shard's files are the truth: whatever parse() added while computing it is replaced by what was kept.
        self.index.truncate(self._committed)
        for record in records:
            self.index.add(record.data["instruction"])
            self.generated.append(record.data["instruction"])
        self._committed = len(self.index)

    def in_context(self, record: Record, index: int) -> list[str]:
        o = self.options
        rng = random.Random(item_seed(o.seed, index))
        own = record.data["instruction"]
        others = [t for t in self.humans if t != own]
        generated = rng.sample(self.generated, min(o.generated_shots, len(self.generated)))
        wanted = o.human_shots - 1 + (o.generated_shots - len(generated))
        tasks = [own, *rng.sample(others, min(wanted, len(others))), *generated]
        rng.shuffle(tasks)
        return tasks

    def request(self, record: Record, index: int, round: int = 0) -> Request:
        o, t = self.options, self.templates
        tasks = self.in_context(record, index)
        listing = "".join(t["task"].format(number=i, task=task) for i, task in enumerate(tasks, 1))
        first, last = len(tasks) + 1, len(tasks) + o.new_tasks
        options = SamplingOptions(
            n=1, temperature=o.temperature, top_p=o.top_p, max_tokens=o.max_tokens,
            stop=(t["completion_tail"].format(number=last + 1),), seed=item_seed(o.seed, index),
        )  # fmt: skip
        if self.method.mode_of(self.backend) == "chat":
            ask = t["chat_request"].format(count=o.new_tasks, first=first, last=last)
            messages = (ChatMessage(role="system", content=t["system"]), ChatMessage(role="user", content=f"{listing}\n{ask}"))
            return Request(messages=messages, options=options)
        prompt = f"{t['system']}\n\n{listing}{t['completion_tail'].format(number=first)}"
        return Request(prompt=prompt, options=options)

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> list[Out | ParseError]:
        tasks = split_tasks(text)[: self.options.new_tasks]
        if not tasks:
            return [ParseError("no_tasks", text)]
        out: list[Out | ParseError] = []
        for task in tasks:
            reason = task_reason(task, self.options)
            if reason is None:
                score, closest = self.index.best(task, floor=self.options.rouge_threshold)
                if score >= self.options.rouge_threshold:
                    out.append(ParseError("similar_to_existing", f"{task}\n(ROUGE-L {score:.3f} with: {self.index.texts[closest]})"))
                    continue
                self.index.add(task)
                out.append(Out("instruction", {"instruction": task, "language": self.options.language, "round": 1}))
            else:
                out.append(ParseError(reason, task))
        return out


class SelfInstruct(Method):
    name = "self-instruct"
    version = "1.0"
    Options = SelfInstructOptions

    @cached_property
    def templates(self) -> dict[str, Any]:
        return load_templates("self_instruct")

    @cached_property
    def builtin_tasks(self) -> list[str]:
        return [row["instruction"] for row in iter_jsonl(Path(PROMPTS) / "self_instruct_tasks.jsonl")]

    @cached_property
    def prompt_set(self) -> str:
        return prompt_set_hash(
            {"templates": self.templates, "tasks": self.builtin_tasks, "response": prompt_parts(self.options.tests)}
        )

    @property
    def executes(self) -> bool:
        return self.options.tests

    def build_stages(self) -> list[Stage]:
        o = self.options
        return [
            SeedTasks(o.language),
            BootstrapStage(self),
            response_stage(self, o, o.response_shots, o.response_samples, o.tests),
        ]

    def provenance(self, stage: Stage, request: Request | None = None, model: str = "") -> dict[str, Any]:
        return {**super().provenance(stage, request, model), "prompt_set": self.prompt_set}
