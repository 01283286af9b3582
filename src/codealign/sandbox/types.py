"""What the sandbox takes (a Program) and what it gives back (an Outcome)."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Check = Literal["asserts", "coverage"]


class Status(str, Enum):
    PASSED = "passed"  # the tests ran to the end
    FAILED = "failed"  # an assertion or exception
    TIMEOUT = "timeout"  # past the wall-clock or CPU deadline
    MEMORY = "memory"  # past the memory limit
    SYNTAX = "syntax"  # did not compile
    CRASHED = "crashed"  # killed by a signal, or exited without finishing its tests
    SANDBOX_ERROR = "sandbox_error"  # our fault; never counted against the program


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(10.0, gt=0, description="wall-clock seconds")
    memory_mb: int = Field(4096, ge=16, description="address-space limit in MiB")
    max_processes: int = Field(64, ge=1)
    max_file_mb: int = Field(64, ge=1, description="largest file the program may write")
    max_open_files: int = Field(256, ge=16)
    max_output_bytes: int = Field(16384, ge=256, description="stdout/stderr kept per stream (tail)")
    # Compiled languages build before they run; a compiler needs more time and memory than the program it makes.
    # None: the language's own default (see its runner's `compile_limits`).
    compile_timeout: float | None = Field(None, gt=0, description="wall-clock seconds for the compiler")
    compile_memory_mb: int | None = Field(None, ge=64, description="address-space limit of the compiler in MiB")


class Program(BaseModel):
    """Source text in a language, with optional tests that run after it in the same process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    language: str = "python"
    code: str
    tests: str = ""
    limits: Limits = Limits()
    checks: tuple[Check, ...] = Field((), description="what to measure while it runs (Python): asserts, coverage")


class AssertSite(BaseModel):
    """One `assert` statement or `assert*()` call statement of the tests, where it is and what it did when run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int
    col: int
    runs: int = 0  # times it was evaluated to the end (a test that raised inside is not a run)
    failures: int = 0  # runs whose value was false (or whose assert*() call raised AssertionError)
    non_bool: int = 0  # runs whose value was not a bool: a truthiness check of a number, a list, an object

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, value: object) -> object:
        # The sandbox reports each site as a compact [line, col, runs, failures, non_bool] row.
        if isinstance(value, (list, tuple)):
            return dict(zip(("line", "col", "runs", "failures", "non_bool"), value, strict=False))
        return value


class Coverage(BaseModel):
    """How much of the program's own code the run executed: statement lines and branch outcomes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lines: int  # lines with code
    lines_hit: int
    branches: int  # outcomes of if/while/for tests: two each
    branches_hit: int
    missing_lines: tuple[int, ...] = ()

    @property
    def line_rate(self) -> float:
        return self.lines_hit / self.lines if self.lines else 1.0

    @property
    def branch_rate(self) -> float:
        return self.branches_hit / self.branches if self.branches else 1.0


class Checks(BaseModel):
    """What a program asked to measure while it ran; a part it did not ask for is None."""

    model_config = ConfigDict(extra="forbid")

    asserts: tuple[AssertSite, ...] | None = None
    coverage: Coverage | None = None

    @property
    def asserts_run(self) -> int:
        return sum(site.runs for site in self.asserts or ())

    @property
    def asserts_failed(self) -> int:
        return sum(site.failures for site in self.asserts or ())


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    status: Status
    exit_code: int | None = None
    duration: float = 0.0
    cpu_time: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error_type: str | None = None  # e.g. "AssertionError"
    error: str | None = None  # the exception message, or what went wrong
    compile_duration: float | None = None  # seconds spent compiling; 0 when the build came from the store
    checks: Checks | None = None  # what the program's `checks` measured, when it ran to a report
    cached: bool = False

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED
