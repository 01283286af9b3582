"""Filesystems that fail in the ways users meet: a read-only folder and a small full one.

A tmpfs is mounted where the test may mount (root in a container that allows it), else an ext2 image on a loop
device; without either the test is skipped with the reason. Mounts are removed when the test ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def _mount(target: Path, size_kb: int, readonly: bool, scratch: Path) -> str | None:
    """Mount a fresh filesystem of `size_kb` at `target`; returns why it could not be done, or None."""
    if shutil.which("mount") is None:
        return "no mount command"
    opts = f"size={size_kb}k,mode=0777" + (",ro" if readonly else "")
    res = _run("mount", "-t", "tmpfs", "-o", opts, "codealign-test", str(target))
    if res.returncode == 0:
        return None
    tmpfs_error = res.stderr.strip() or f"mount exited {res.returncode}"
    if shutil.which("mkfs.ext2") is None:
        return f"cannot mount a tmpfs ({tmpfs_error}) and no mkfs.ext2 for a loop file"
    image = scratch / f"{target.name}.img"
    with image.open("wb") as fh:
        fh.truncate(max(size_kb, 64) * 1024)
    res = _run("mkfs.ext2", "-q", "-F", "-m", "0", str(image))
    if res.returncode != 0:
        return f"cannot mount a tmpfs ({tmpfs_error}) nor make a loop file ({res.stderr.strip()})"
    res = _run("mount", "-o", "loop" + (",ro" if readonly else ""), str(image), str(target))
    if res.returncode != 0:
        return f"cannot mount a tmpfs ({tmpfs_error}) nor a loop file ({res.stderr.strip()})"
    if not readonly:
        os.chmod(target, 0o777)
    return None


class Mounts:
    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.mounted: list[Path] = []

    def make(self, name: str, size_kb: int = 256, readonly: bool = False, fill: dict[str, str] | None = None) -> Path:
        """A new filesystem at scratch/name; `fill` files are written first (a read-only one is remounted ro)."""
        target = self.scratch / name
        target.mkdir()
        if readonly and fill:
            problem = _mount(target, size_kb, False, self.scratch)
        else:
            problem = _mount(target, size_kb, readonly, self.scratch)
        if problem is not None:
            if readonly and os.geteuid() != 0:
                # Without mounting, a folder without write permission behaves the same for a non-root user.
                for rel, text in (fill or {}).items():
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    (target / rel).write_text(text)
                target.chmod(0o555)
                return target
            pytest.skip(f"needs a filesystem the test can mount: {problem}")
        self.mounted.append(target)
        for rel, text in (fill or {}).items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text)
        if readonly and fill:
            res = _run("mount", "-o", "remount,ro", str(target))
            if res.returncode != 0:
                pytest.skip(f"cannot remount read-only: {res.stderr.strip()}")
        return target

    def cleanup(self) -> None:
        for target in reversed(self.mounted):
            _run("umount", "-l", str(target))
        self.mounted.clear()


@pytest.fixture
def mounts(tmp_path):
    m = Mounts(tmp_path)
    try:
        yield m
    finally:
        m.cleanup()


@pytest.fixture
def readonly_dir(mounts):
    return mounts.make("readonly", readonly=True)


@pytest.fixture
def full_fs(mounts):
    """A 256 KiB filesystem: room for a few small files, not for a command's whole output."""
    return mounts.make("full", size_kb=256)


@pytest.fixture
def no_hub(tmp_path):
    """An environment where the hub endpoint refuses connections and the local cache is empty."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update({"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path / "hf")})
    return env
