"""The exception hierarchy. The CLI turns any CodealignError into one line; anything else is a bug."""

from __future__ import annotations

import errno
import os


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


class FileAccessError(CodealignError):
    """A file or folder a command reads or writes cannot be used: read-only, full, missing, not a folder, ..."""

    @classmethod
    def wrap(cls, exc: OSError, path: object = None, action: str | None = None) -> FileAccessError:
        return cls(describe_os_error(exc, path, action))


class CodealignWarning(UserWarning):
    """Something the user should know that does not stop the work (damaged cache set aside, undecodable input)."""


# Errors that only writing can cause; any other error on a path is reported as "cannot open".
_WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EROFS", "ENOSPC", "EDQUOT", "EFBIG", "EISDIR", "ENOTDIR", "EEXIST", "EXDEV")
    if hasattr(errno, name)
)


def describe_os_error(exc: OSError, path: object = None, action: str | None = None) -> str:
    """`cannot write PATH: reason` for a filesystem error; the reason names a file standing where a folder must be."""
    target = path if path is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    if action is None:
        action = "write" if exc.errno in _WRITE_ERRNOS else "open"
    if target is None:
        return f"cannot {action}: {reason}"
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = _file_in_the_way(os.fsdecode(target) if isinstance(target, (str, bytes, os.PathLike)) else str(target))
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
    return f"cannot {action} {os.fsdecode(target) if isinstance(target, (bytes, os.PathLike)) else target}: {reason}"


def _file_in_the_way(path: str) -> str | None:
    """The first existing non-folder among `path` and its parents (what blocks creating a folder there)."""
    p = os.path.abspath(path)
    parts = []
    while True:
        parts.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for candidate in reversed(parts):
        if os.path.lexists(candidate) and not os.path.isdir(candidate):
            return os.path.relpath(candidate) if not os.path.isabs(path) else candidate
    return None


class Interrupted(Exception):
    """The user pressed Ctrl-C; the message says what was kept and how to continue. The CLI exits with 130."""
