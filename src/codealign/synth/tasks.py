"""Seeds as tasks: methods that start from task text (Evol-Instruct, Self-Instruct) read each seed as one.

A seed row's text is either code or already a task. A seed function (what `codealign curate` makes) becomes the
task its signature and docstring state, which is the check SelfCodeAlign's seed judge makes: the docstring alone
must say what the function does. Text that is not Python (a Code Alpaca-style `instruction` column, read with
`seeds.field: instruction`) is the task as it stands.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

from codealign.records import Record
from codealign.synth.base import MapStage, ParseError

MIN_TASK_WORDS = 3


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = ast.unparse(node.args)
    return f"{node.name}({args})"


def _first_paragraph(doc: str) -> str:
    text = inspect.cleandoc(doc)
    paragraph = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    return " ".join(paragraph.split())


def task_from_code(code: str, language: str = "Python") -> str | None:
    """`Write a Python function `f(a, b)`. <docstring summary>` for the first documented top-level function or
    class of `code`; None when the code does not parse or documents nothing."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=False)
            if not doc or not _first_paragraph(doc):
                continue
            summary = _first_paragraph(doc)
            if not summary.endswith((".", "!", "?")):
                summary += "."
            if isinstance(node, ast.ClassDef):
                return f"Write a {language} class `{node.name}`. {summary}"
            return f"Write a {language} function `{_signature(node)}`. {summary}"
    return None


def looks_like_code(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def seed_task(text: str) -> str | None:
    """The task a seed stands for, or None (code with no docstring, or text too short to be a task)."""
    text = text.strip()
    if not text:
        return None
    if looks_like_code(text):
        return task_from_code(text)
    task = " ".join(text.split())
    return task if len(task.split()) >= MIN_TASK_WORDS else None


class SeedTasks(MapStage):
    """seed -> instruction: each seed read as a task (see `seed_task`), without a model."""

    name = "tasks"
    consumes = "seed"
    produces = ("instruction",)

    def __init__(self, language: str = "python") -> None:
        self.language = language

    def apply(self, record: Record, index: int) -> dict[str, Any] | ParseError:
        text = str(record.data.get("seed", ""))
        task = seed_task(text)
        if task is None:
            return ParseError("no_task_in_seed", text)
        return {"instruction": task, "language": self.language, "round": 0}
