"""Ways a cache file gets damaged: cut short, its header overwritten, random bytes written inside."""

from __future__ import annotations

import os
import random
from pathlib import Path

KINDS = ("truncated", "header", "inside")
BTREE_PAGE_TYPES = (0x02, 0x05, 0x0A, 0x0D)  # interior/leaf pages of indexes and tables (SQLite's file format)


def damage(path: Path, kind: str, seed: int = 0) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    if kind == "truncated":
        data = data[: len(data) // 2 + 123]
    elif kind == "header":
        data[:100] = rng.randbytes(100)
    elif kind == "inside":
        # Pages of the b-tree, after the first: SQLite finds these when it reads them. (Overflow and free pages hold
        # no structure; bytes changed there are a damaged value, which the cache drops as one entry.)
        page = int.from_bytes(data[16:18], "big")
        page = 65536 if page == 1 else page
        btree = [n for n in range(1, len(data) // page) if data[n * page] in BTREE_PAGE_TYPES]
        for n in rng.sample(btree, min(4, len(btree))):
            data[n * page + 8 : n * page + page // 2] = rng.randbytes(page // 2 - 8)
    else:
        raise ValueError(kind)
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{path}{suffix}")
        if leftover.exists():
            os.unlink(leftover)
