"""The exception hierarchy. The CLI turns any CodealignError into one line; anything else is a bug."""

from __future__ import annotations


class CodealignError(Exception):
    """An error the user can fix; its message says how."""


class ConfigError(CodealignError):
    """A bad option, key or value in a config, a flag or an input file."""


class MissingDependency(CodealignError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str | None = None, purpose: str | None = None) -> None:
        what = f" for {purpose}" if purpose else ""
        hint = f"pip install 'codealign[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is needed{what} but is not installed: {hint}")
        self.package = package
        self.extra = extra


class BackendError(CodealignError):
    """A language-model backend failed (unreachable server, missing model, repeated errors)."""


class SandboxError(CodealignError):
    """The execution engine itself failed; never the fault of the program it ran."""


class InputError(ConfigError):
    """An input file is missing or malformed."""
