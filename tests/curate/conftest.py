import re
import sysconfig
from pathlib import Path

import pytest

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(limit: int, min_size: int = 2000, max_size: int = 40000) -> list[Path]:
    """A deterministic slice of the running interpreter's standard library (top-level modules only)."""
    files = sorted(p for p in STDLIB.glob("*.py") if min_size <= p.stat().st_size <= max_size)
    return files[:limit]


@pytest.fixture(scope="session")
def stdlib_texts() -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in stdlib_files(120)]


def oracle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Exact Jaccard over sets of word 5-gram tuples, written independently of the code under test."""

    def grams(s: str) -> set:
        toks = re.findall(rb"[a-z0-9_\x80-\xff]+", s.encode().lower())
        if len(toks) < n:
            return {tuple(toks)} if toks else set()
        return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0
