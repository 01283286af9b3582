"""`jsonl:PATH`: a user's own tasks, one JSON object a line, in any language the sandbox runs.

Fields: `prompt` (what a base model continues; or `instruction`, what a chat model is asked), `tests` (or `test`:
code that runs after the program, plain or in markdown code blocks; a `check` function it defines but does not call
is called on the entry point), `entry_point` (optional: the function the tests call), `task_id` (default: the line
number), `language` (default python), `stop` (optional completion-mode stop strings), `canonical_solution`
(optional). A held-out slice of a codealign run's `final/sft.jsonl` (instruction, tests) works as it is, in chat mode.
"""

from __future__ import annotations

import re
from pathlib import Path

from codealign.errors import ConfigError, InputError
from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.suites import evalplus_data as ep

# Completion-mode stops for languages other than Python: what starts after the function (a main, another
# top-level item, a comment, a fence). They leave the function's own closing brace in place, since a task's tests run
# after the program as they are. A task's own `stop` field wins (MultiPL-E-style tasks whose tests close the function
# give `"stop": ["\\n}"]`).
STOPS = {
    "javascript": ("\nfunction ", "\nconsole.log", "\n//", "\n/*", "\n```"),
    "typescript": ("\nfunction ", "\nconsole.log", "\n//", "\n/*", "\n```"),
    "cpp": ("\nint main", "\n#", "\n//", "\n/*", "\n```"),
    "java": ("\n    public static void main", "\n```"),
    "go": ("\nfunc main", "\nfunc Test", "\n//", "\n```"),
    "rust": ("\nfn main", "\n#[", "\n//", "\n```"),
    "shell": ("\n#", "\n```"),
}


class JsonlTasks(Benchmark):
    name = "jsonl"
    version = "1"
    timeout = 10.0

    def __init__(self, arg: str | None = None, data: str | Path | None = None) -> None:
        super().__init__(arg, data)
        if not arg and data is None:
            raise ConfigError("the jsonl benchmark needs a file: --benchmark jsonl:PATH")
        self.path = Path(arg).expanduser() if arg else Path(data)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return f"jsonl:{self.path}"

    def load(self) -> list[Task]:
        rows, self.sha256 = ep.read_rows(self.path)
        self.source = str(self.path)
        tasks, seen = [], set()
        for i, row in enumerate(rows, 1):
            prompt = row.get("prompt")
            instruction = row.get("instruction")
            tests = row.get("tests", row.get("test"))
            if not isinstance(prompt, str) and not isinstance(instruction, str):
                raise InputError(f"{self.path}: task {i} has neither a `prompt` nor an `instruction` string")
            if not isinstance(tests, str) or not tests.strip():
                raise InputError(f"{self.path}: task {i} has no `tests` string")
            tests = _unfenced(tests)
            task_id = str(row.get("task_id", row.get("id", i)))
            if task_id in seen:
                raise InputError(f"{self.path}: task_id {task_id!r} appears twice")
            seen.add(task_id)
            language = _language(str(row.get("language", "python")).lower())
            stop = row.get("stop", row.get("stop_tokens"))
            tasks.append(Task(
                task_id=task_id, prompt=prompt if isinstance(prompt, str) else "", tests=tests,
                entry_point=str(row.get("entry_point") or _guess_entry_point(prompt or "", tests, language)),
                language=language, instruction=instruction if isinstance(instruction, str) else None,
                stop=tuple(stop) if isinstance(stop, list) else STOPS.get(language) if language != "python" else None,
                canonical_solution=str(row.get("canonical_solution", row.get("response", "")) or ""), data=row,
            ))  # fmt: skip
        return tasks

    def from_completion(self, task: Task, text: str) -> str:
        if not task.prompt:  # an instruction-only task: a base model answers in prose and code, like a chat model
            return self.from_chat(task, text)
        return super().from_completion(task, text)

    def completion_prompt(self, task: Task) -> str:
        return task.prompt or f"{task.instruction}\n\n"

    def tests_for(self, task: Task) -> str:
        if task.language == "python" and task.entry_point:
            return ep.script_tests(task.tests, task.entry_point)
        return task.tests if task.tests.endswith("\n") else task.tests + "\n"


def _language(name: str) -> str:
    """The sandbox's own name for a language or alias ("py" -> python, "js" -> javascript)."""
    from codealign.registry import LANGUAGES

    return LANGUAGES.entry(name).name if name in LANGUAGES else name


def _unfenced(tests: str) -> str:
    """Tests written as markdown code blocks (a codealign run's final/sft.jsonl keeps them so): the blocks' code."""
    if not re.search(r"^[ \t]*(```|~~~)", tests, re.M):
        return tests
    from codealign.evaluate.extract import fenced_blocks

    blocks = [b.code for b in fenced_blocks(tests) if b.code.strip()]
    return "\n".join(blocks) if blocks else tests


def _guess_entry_point(prompt: str, tests: str, language: str) -> str:
    if language != "python":
        return ""
    names = re.findall(r"^\s*def\s+(\w+)", prompt, re.M)
    if names:
        return names[-1]
    called = re.findall(r"\b([A-Za-z_]\w*)\s*\(", tests)
    skip = {"assert", "check", "len", "print", "range", "set", "list", "sorted", "abs", "isinstance", "str", "int",
            "float", "tuple", "dict", "round", "all", "any", "sum", "min", "max"}  # fmt: skip
    return next((n for n in called if n not in skip), "")
