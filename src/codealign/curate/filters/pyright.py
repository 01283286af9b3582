from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from codealign.curate.filters.base import Filter, Verdict
from codealign.errors import MissingDependency
from codealign.records import Record


class Pyright(Filter):
    """Zero pyright errors (SelfCodeAlign's optional type check). Needs the `pyright` command on PATH."""

    name = "pyright"
    applies_to = ("function",)

    def __init__(self, timeout: float = 120.0) -> None:
        self.exe = shutil.which("pyright")
        if self.exe is None:
            raise MissingDependency("pyright", purpose="the pyright filter (npm install -g pyright)")
        self.timeout = timeout

    def keep(self, record: Record) -> Verdict:
        imports = record.data.get("imports") or {}
        header = "".join(_import_line(m, n) for n, m in sorted(imports.items()))
        with tempfile.TemporaryDirectory(prefix="codealign-pyright-") as tmp:
            path = Path(tmp) / "seed.py"
            path.write_text(header + self.text(record), encoding="utf-8")
            try:
                res = subprocess.run([self.exe, str(path)], capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                return "pyright timed out"
        errors = [line for line in res.stdout.splitlines() if " - error:" in line]
        return True if not errors else f"{len(errors)} type errors"


def _import_line(module: str, name: str) -> str:
    """Re-create the module-level import that bound `name`, so pyright sees the function's real context."""
    parent, _, attr = module.rpartition(".")
    if not parent:
        return f"import {module} as {name}\n"
    return f"from {parent} import {attr} as {name}\n"
