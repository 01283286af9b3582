"""Ways a cache file gets damaged: cut short, its header overwritten, random bytes written inside."""

from __future__ import annotations

import os
import random
from pathlib import Path

KINDS = ("truncated", "header", "inside")


def damage(path: Path, kind: str, seed: int = 0) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    if kind == "truncated":
        data = data[: len(data) // 2 + 123]
    elif kind == "header":
        data[:100] = rng.randbytes(100)
    elif kind == "inside":
        # Whole pages of the b-tree, after the first: SQLite finds these when it reads them.
        page = int.from_bytes(data[16:18], "big")
        pages = len(data) // page
        for n in rng.sample(range(1, pages), min(4, pages - 1)):
            data[n * page + 8 : n * page + page // 2] = rng.randbytes(page // 2 - 8)
    else:
        raise ValueError(kind)
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{path}{suffix}")
        if leftover.exists():
            os.unlink(leftover)
