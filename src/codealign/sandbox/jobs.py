"""The `codealign exec` job: programs from a JSONL file through the sandbox, outcomes to a JSONL file, streaming."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codealign.records import BadLine, LineWriter, iter_jsonl_numbered, no_usable_lines
from codealign.sandbox.types import Limits, Outcome, Program

_LIMIT_FIELDS = ("timeout", "memory_mb", "compile_timeout", "compile_memory_mb")
_FIELDS = {"id", "language", "code", "tests", "checks", *_LIMIT_FIELDS}


@dataclass
class ExecReport:
    statuses: Counter = field(default_factory=Counter)
    cached: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def read_programs(path: Path, defaults: Limits, bad: list[BadLine],
                  unsupported: Callable[[str], str | None] | None = None) -> Iterator[Program]:
    """Programs of a JSONL file, one per line; a malformed line goes to `bad` with its number and is skipped, and
    so does a program in a language that `unsupported(language)` gives a reason against. A file without a single
    usable program is an InputError."""
    usable = 0
    first_bad = len(bad)
    for lineno, row in iter_jsonl_numbered(path, bad, what="programs file"):
        try:
            unknown = set(row) - _FIELDS
            if unknown:
                raise ValueError(
                    f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_FIELDS))}"
                )
            if not isinstance(row.get("code"), str):
                raise ValueError("`code` must be a string")
            overrides = {k: row[k] for k in _LIMIT_FIELDS if row.get(k) is not None}
            limits = Limits(**{**defaults.model_dump(), **overrides}) if overrides else defaults
            program = Program(
                id=str(row.get("id", lineno)),
                language=row.get("language") or "python",
                code=row["code"],
                tests=row.get("tests") or "",
                limits=limits,
                checks=tuple(row.get("checks") or ()),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            bad.append(BadLine(str(path), lineno, f"{where}: {first['msg']}"))
        except (ValueError, TypeError) as exc:
            bad.append(BadLine(str(path), lineno, str(exc)))
        else:
            why = unsupported(program.language) if unsupported is not None else None
            if why is None:
                usable += 1
                yield program
            else:
                bad.append(BadLine(str(path), lineno, why))
    if usable == 0 and len(bad) > first_bad:
        raise no_usable_lines(path, len(bad) - first_bad, bad[first_bad])


def outcome_row(outcome: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": outcome.id,
        "outcome": outcome.status.value,
        "exit_code": outcome.exit_code,
        "duration": outcome.duration,
        "cpu_time": outcome.cpu_time,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
    }
    if outcome.error is not None:
        row["error"] = outcome.error
    if outcome.error_type is not None:
        row["error_type"] = outcome.error_type
    if outcome.compile_duration is not None:
        row["compile_duration"] = outcome.compile_duration
    if outcome.checks is not None:
        row["checks"] = outcome.checks.model_dump(mode="json", exclude_none=True)
    if outcome.cached:
        row["cached"] = True
    return row


def run_exec(
    programs_path: str | Path,
    output: str | Path,
    sandbox: Any,
    defaults: Limits,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_bad_line: Callable[[BadLine], None] | None = None,
) -> ExecReport:
    """Execute every program; each outcome is written (and flushed) as soon as it is known, so none is lost.

    The lines go to `OUTPUT.partial`, renamed to OUTPUT when every program has its outcome (see LineWriter).
    """
    import time

    start = time.monotonic()
    report = ExecReport(isolation=sandbox.isolation)
    out = Path(output)

    class _Bad(list):
        def append(self, item: BadLine) -> None:  # report bad lines as they are met, not at the end
            super().append(item)
            if on_bad_line is not None:
                on_bad_line(item)

    bad = _Bad()
    with LineWriter(out) as writer:
        for outcome in sandbox.run(read_programs(Path(programs_path), defaults, bad, sandbox.unsupported)):
            writer.write(outcome_row(outcome))
            report.statuses[outcome.status.value] += 1
            report.cached += outcome.cached
            if on_outcome is not None:
                on_outcome(outcome)
    report.bad_lines = list(bad)
    report.seconds = time.monotonic() - start
    return report
