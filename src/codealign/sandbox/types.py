"""What the sandbox takes (a Program) and what it gives back (an Outcome)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


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
    cached: bool = False

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED
