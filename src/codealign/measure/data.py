"""What `measure` reads: a codealign run directory or any JSONL/Parquet file, with configurable (dotted) field names.

Every row becomes an `Item`: instruction, response, tests, the code extracted from the response, and the optional
attribute fields (concepts, category, difficulty). The code's syntax tree is parsed at most once per item.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.config import StrictModel
from codealign.errors import InputError
from codealign.records import BadLine, get_field, iter_rows, require_fields

# Where each field is looked for when the user names none: top level first, then the lineage a pipeline keeps.
DEFAULT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "instruction": ("instruction", "prompt", "question"),
    "response": ("response", "output", "completion", "answer"),
    "tests": ("tests", "test"),
    "code": (),
    "concepts": ("concepts", "lineage.concepts"),
    "category": ("category", "lineage.category", "lineage.properties.category"),
    "difficulty": ("difficulty", "lineage.difficulty", "lineage.properties.difficulty"),
    "language": ("language", "lineage.language"),
}
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_UNPARSED = object()


class FieldMap(StrictModel):
    """Dotted paths of each field in a row; None means try the usual names (see DEFAULT_CANDIDATES)."""

    instruction: str | None = None
    response: str | None = None
    tests: str | None = None
    code: str | None = None
    concepts: str | None = None
    category: str | None = None
    difficulty: str | None = None
    language: str | None = None

    def candidates(self, name: str) -> tuple[str, ...]:
        chosen = getattr(self, name)
        return (chosen,) if chosen else DEFAULT_CANDIDATES[name]


def lookup(row: dict[str, Any], dotted: str) -> Any:
    """The value at `a.b.c` in nested dicts, or None. A codealign Record row is searched inside its `data` too."""
    found = get_field(row, dotted)
    if found is None and isinstance(row.get("data"), dict):
        found = get_field(row["data"], dotted)
    return found


def extract_code(response: str, language: str = "python") -> str:
    """The code in a response: its fenced code blocks (in `language`, or untagged) joined, else the whole text.

    A response that parses as Python as it stands is code, even when a docstring in it shows a fenced example.
    """
    if "```" not in response:
        return response
    if language == "python":
        try:
            ast.parse(response)
            return response
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            pass
        tags: tuple[str, ...] = ("", "python", "py", "python3")
        blocks = [body for lang, body in _FENCE.findall(response) if lang.lower() in tags]
    else:
        blocks = [body for lang, body in _FENCE.findall(response) if not lang or _language(lang.lower()) == language]
    return "\n\n".join(b.rstrip() for b in blocks) if blocks else ""


def _language(name: str) -> str:
    """The sandbox's name for a language or one of its aliases (`rs` -> rust); unknown names as they are."""
    from codealign.registry import LANGUAGES

    return LANGUAGES.entry(name).name if name in LANGUAGES else name


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _as_concepts(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    parts = value if isinstance(value, (list, tuple)) else str(value).split(",")
    concepts = tuple(c for c in (str(p).strip().lower() for p in parts) if c)
    return concepts or None


class Item:
    """One example as the metrics see it. `tree` is the parsed Python code (None when it does not parse, and for
    other languages, whose metrics read them through tree-sitter or mark them not applicable), computed once."""

    __slots__ = ("index", "instruction", "response", "tests", "code", "concepts", "category", "difficulty", "language",
                 "_tree")  # fmt: skip

    def __init__(
        self,
        index: int,
        instruction: str,
        response: str,
        tests: str = "",
        code: str | None = None,
        concepts: tuple[str, ...] | None = None,
        category: str | None = None,
        difficulty: str | None = None,
        language: str = "python",
    ) -> None:
        self.index = index
        self.instruction = instruction
        self.response = response
        self.tests = tests
        self.language = language
        self.code = extract_code(response, language) if code is None else code
        self.concepts = concepts
        self.category = category
        self.difficulty = difficulty
        self._tree: Any = _UNPARSED

    @property
    def tree(self) -> ast.Module | None:
        if self._tree is _UNPARSED:
            try:
                ok = self.code.strip() and self.language == "python"
                self._tree = ast.parse(self.code) if ok else None
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                self._tree = None
        return self._tree

    def forget_tree(self) -> None:
        self._tree = _UNPARSED

    def __getstate__(self) -> tuple:
        # The tree is cheaper to re-parse in a worker than to pickle.
        return tuple(getattr(self, s) for s in self.__slots__[:-1])

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__[:-1], state, strict=True):
            setattr(self, name, value)
        self._tree = _UNPARSED


@dataclass
class Dataset:
    """The items of one input, where they came from, and the lines that could not be read."""

    name: str
    path: str
    items: list[Item]
    fields: dict[str, str | None]
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def has(self) -> dict[str, bool]:
        return {k: v is not None for k, v in self.fields.items()}


def resolve_input(path: str | os.PathLike) -> Path:
    """A run directory means its final SFT dataset; a file or a folder of shards is read as is."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"dataset not found: {p} (give a codealign run directory or a .jsonl/.parquet file)")
    if p.is_dir():
        from codealign.runs import CONFIG_FILE, DONE_FILE

        if (p / CONFIG_FILE).exists() and not (p / DONE_FILE).exists():
            raise InputError(f"{p} is a run that has not finished (no {DONE_FILE}, the file a run writes last): "
                             "rerun its `codealign run` command to finish it")  # fmt: skip
        for candidate in (p / "final" / "sft.jsonl", p / "final" / "sft.parquet", p / "sft.jsonl"):
            if candidate.exists():
                return candidate
    return p


def _iter_items(rows: Iterator[dict[str, Any]], fields: FieldMap, found: dict[str, str | None]) -> Iterator[Item]:
    def get(row: dict[str, Any], name: str) -> Any:
        chosen = found.get(name)
        if chosen is not None:
            return lookup(row, chosen)
        for path in fields.candidates(name):
            value = lookup(row, path)
            if value is not None:
                found[name] = path
                return value
        return None

    for i, row in enumerate(rows):
        code = get(row, "code")
        language = _language(str(get(row, "language") or "python").lower())
        yield Item(
            index=i,
            instruction=_as_text(get(row, "instruction")),
            response=_as_text(get(row, "response")),
            tests=extract_code(_as_text(get(row, "tests")), language),  # tests often come fenced like the response
            code=None if code is None else _as_text(code),
            concepts=_as_concepts(get(row, "concepts")),
            category=None if (c := get(row, "category")) is None else str(c),
            difficulty=None if (d := get(row, "difficulty")) is None else str(d),
            language=language,
        )


def load_dataset(
    path: str | os.PathLike, fields: FieldMap | None = None, limit: int | None = None, name: str | None = None
) -> Dataset:
    """Read every row of `path` into Items; malformed lines are kept in `bad_lines` and skipped."""
    fields = fields or FieldMap()
    source = resolve_input(path)
    bad: list[BadLine] = []
    found: dict[str, str | None] = {k: None for k in DEFAULT_CANDIDATES}
    items: list[Item] = []
    named = [path for path in fields.model_dump().values() if path]
    for item in _iter_items(require_fields(iter_rows(source, bad), named, source, also_under="data"), fields, found):
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise InputError(f"{source}: no records to measure")
    if found["instruction"] is None and found["response"] is None:
        raise InputError(
            f"{source}: found neither an instruction nor a response field; name them with "
            "--field instruction=PATH --field response=PATH"
        )
    label = name or (Path(path).name if Path(path).is_dir() else Path(path).stem)
    return Dataset(name=label, path=str(source), items=items, fields=found, bad_lines=bad)


def dataset_from_rows(rows: list[dict[str, Any]], name: str = "data", fields: FieldMap | None = None) -> Dataset:
    """A Dataset from rows already in memory (used by tests, benchmarks and the pipeline)."""
    found: dict[str, str | None] = {k: None for k in DEFAULT_CANDIDATES}
    items = list(_iter_items(iter(rows), fields or FieldMap(), found))
    return Dataset(name=name, path="<memory>", items=items, fields=found)
