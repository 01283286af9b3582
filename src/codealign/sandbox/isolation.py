"""How a worker is walled off: bubblewrap, else bare namespaces (`unshare`), else nothing (only when asked for).

Isolation is set up once per worker, not per program: each worker is one long-lived jail with its own PID, network,
user, IPC and UTS namespaces, and the programs it forks inherit it for free.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from functools import cache
from pathlib import Path

from codealign.errors import SandboxError

MODES = ("auto", "bwrap", "unshare", "none")
SANDBOX_UID = 65534  # "nobody": the programs own nothing of the host's
WORKDIR = "/tmp"  # inside the jail: a private, size-capped tmpfs, emptied after every program
SHM = "/dev/shm"
SERVER_DIR = "/opt/codealign"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "sandbox",
       "LOGNAME": "sandbox", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}  # fmt: skip

_UNSHARE_WARNING = (
    "bubblewrap (bwrap) is not installed: the sandbox falls back to namespaces + rlimits. Programs still have no "
    "network and die with their worker, but they can READ AND WRITE THE HOST FILESYSTEM with your permissions. "
    "Install bubblewrap (apt-get install bubblewrap) for a read-only view of the interpreter only."
)
_NONE_WARNING = (
    "the sandbox runs WITHOUT ISOLATION (--allow-no-isolation): programs can use the network, read and write your "
    "files and signal your processes; only rlimits, process groups and deadlines apply."
)


def python_executable() -> str:
    return os.path.realpath(sys.executable)


def package_dirs() -> list[str]:
    """Site-packages folders of the running interpreter, so programs can import what the user installed."""
    paths = sysconfig.get_paths()
    return sorted({os.path.realpath(paths[k]) for k in ("purelib", "platlib") if os.path.isdir(paths[k])})


def _ro_root_binds() -> list[str]:
    """The read-only system folders an interpreter needs: /usr and the /lib* and /bin links into it."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for etc in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/alternatives",
    ):
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    return args


def bwrap_argv(
    server: str, languages: dict[str, str], binds: list[str], packages: bool, disk_mb: int
) -> tuple[list[str], dict]:
    """The bubblewrap command line for one worker, and the server config it reads."""
    exe = python_executable()
    size = str(disk_mb * 1024 * 1024)
    args = [
        "bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_UID), "--hostname", "sandbox", "--die-with-parent", "--as-pid-1", "--new-session",
        "--clearenv",
    ]  # fmt: skip
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    args += _ro_root_binds()
    mounted = ["/usr"]
    for path in [sys.base_prefix, os.path.dirname(os.path.dirname(exe)), *binds]:
        path = os.path.realpath(path)
        if os.path.exists(path) and not any(path == m or path.startswith(m + "/") for m in mounted):
            args += ["--ro-bind", path, path]
            mounted.append(path)
    # Site-packages go under neutral names, so nothing of the host's folder layout (a project's .venv) shows.
    inside_packages = []
    for i, path in enumerate(package_dirs() if packages else []):
        inside_packages.append(f"{SERVER_DIR}/packages{i}")
        args += ["--ro-bind", path, inside_packages[-1]]
    lang_paths = {}
    for name, file in languages.items():
        inside = f"{SERVER_DIR}/lang_{name}.py"
        args += ["--ro-bind", file, inside]
        lang_paths[name] = inside
    args += ["--ro-bind", server, f"{SERVER_DIR}/server.py"]
    args += ["--dev", "/dev", "--proc", "/proc", "--size", size, "--tmpfs", WORKDIR]
    args += ["--size", size, "--tmpfs", SHM, "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORKDIR]
    config = {
        "workdir": WORKDIR,
        "scratch": [SHM],
        "languages": lang_paths,
        "env": ENV,
        "sys_path": inside_packages,
    }
    args += [exe, "-I", "-S", "-B", f"{SERVER_DIR}/server.py"]
    return args, config


def unshare_argv(
    server: str, languages: dict[str, str], packages: bool, workdir: str
) -> tuple[list[str], dict]:
    args = ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
            "--ipc", "--uts", python_executable(), "-I", "-S", "-B", server]  # fmt: skip
    config = {
        "workdir": workdir,
        "languages": languages,
        "env": ENV,
        "sys_path": package_dirs() if packages else [],
    }
    return args, config


def plain_argv(
    server: str, languages: dict[str, str], packages: bool, workdir: str
) -> tuple[list[str], dict]:
    args = [python_executable(), "-I", "-S", "-B", server]
    config = {
        "workdir": workdir,
        "languages": languages,
        "env": ENV,
        "sys_path": package_dirs() if packages else [],
    }
    return args, config


def _works(argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@cache
def probe(mode: str) -> bool:
    """Whether this machine can set up `mode` (tried once per process)."""
    if mode == "bwrap":
        return shutil.which("bwrap") is not None and _works(
            [
                "bwrap",
                "--unshare-all",
                "--unshare-user",
                "--disable-userns",
                "--die-with-parent",
                "--as-pid-1",
                *_ro_root_binds(),
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
                "true",
            ]  # fmt: skip
        )
    if mode == "unshare":
        return shutil.which("unshare") is not None and _works(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--net",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "true",
            ]
        )
    return mode == "none"


def resolve_mode(mode: str, allow_no_isolation: bool = False) -> str:
    """The isolation a pool will use; refuses to run without network isolation unless explicitly allowed."""
    if mode not in MODES:
        raise SandboxError(f"unknown isolation {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "none":
        if not allow_no_isolation:
            raise SandboxError(
                "isolation 'none' runs programs with your permissions: pass --allow-no-isolation"
            )
        _warn(_NONE_WARNING)
        return "none"
    if mode in ("auto", "bwrap") and probe("bwrap"):
        return "bwrap"
    if mode == "bwrap":
        raise SandboxError(
            "bubblewrap cannot start here: install it (apt-get install bubblewrap) or use isolation auto"
        )
    if probe("unshare"):
        _warn(_UNSHARE_WARNING)
        return "unshare"
    if allow_no_isolation:
        _warn(_NONE_WARNING)
        return "none"
    raise SandboxError(
        "this kernel allows no unprivileged namespaces, so programs would have network access: enable user namespaces "
        "(sysctl kernel.unprivileged_userns_clone=1) or pass --allow-no-isolation to run anyway"
    )


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def server_file() -> str:
    return str(Path(__file__).with_name("_server.py"))
