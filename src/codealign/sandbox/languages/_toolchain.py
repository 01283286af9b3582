"""Host half shared by the runners of compiled languages: find the toolchain, name its package, bind its files.

Nothing here runs inside the sandbox. A runner subclasses `Toolchain`, names the commands it needs (`tools`, the
first one is the compiler whose version keys the cache), the Debian package that provides them, and what its child
half must know (`child_config`: resolved paths, since the jail's PATH holds only /usr and /bin).
"""

from __future__ import annotations

import os
import shutil
from functools import cache

# Compilers need far more time and memory than the programs they build; a runner may raise these further.
COMPILE_LIMITS = {"timeout": 30.0, "memory_mb": 4096, "max_processes": 256, "max_file_mb": 256}


@cache
def command_output(*argv: str) -> str:
    """Stdout (or stderr) of a short host command such as `g++ --version`, once per process."""
    # Imported here: `subprocess` brings `threading`, whose fork hook every forked child would otherwise run.
    import subprocess

    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({type(exc).__name__})"
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[0] if (done.stdout or done.stderr) else ""


def find(command: str) -> str | None:
    """The real path of a command on the host's PATH (through symlinks and /etc/alternatives)."""
    found = shutil.which(command)
    return os.path.realpath(found) if found else None


def outside_usr(path: str | None) -> bool:
    return bool(path) and not (path.startswith("/usr/") or path.startswith("/bin/") or path.startswith("/lib"))


class Toolchain:
    """A language whose programs are compiled in the sandbox before they run."""

    name = ""
    child_file = ""
    tools: tuple[str, ...] = ()  # commands the runner needs on the host's PATH; the first is the compiler
    package = ""  # the Debian package that provides them
    compile_limits = COMPILE_LIMITS

    def available(self) -> bool:
        return all(find(tool) for tool in self.tools)

    def missing(self) -> str:
        absent = [tool for tool in self.tools if not find(tool)]
        return (
            f"language {self.name!r} needs `{absent[0] if absent else self.tools[0]}`: install the Debian package "
            f"{self.package} (apt-get install {self.package}, or `make system-deps` as root)"
        )

    def runtime_version(self) -> str:
        compiler = find(self.tools[0])
        return command_output(compiler, "--version") if compiler else f"{self.tools[0]} (missing)"

    def toolchain_dirs(self) -> list[str]:
        """Folders the toolchain lives in; those outside /usr are bound read-only into the jail."""
        return [os.path.dirname(os.path.dirname(p)) for p in (find(t) for t in self.tools) if p]

    def binds(self) -> list[str]:
        return sorted({d for d in self.toolchain_dirs() if outside_usr(d + "/")})

    def child_config(self) -> dict:
        return {tool: find(tool) for tool in self.tools}
