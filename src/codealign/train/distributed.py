"""Where this process stands under `accelerate launch` (or torchrun): one process writes files and shows progress.

Without a launcher there is one process, and it is the main one.
"""

from __future__ import annotations

import os


def _state() -> object:
    from accelerate import PartialState

    return PartialState()


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def wait_for_everyone() -> None:
    """A barrier across processes; nothing to wait for when there is one."""
    if world_size() > 1:
        _state().wait_for_everyone()  # type: ignore[attr-defined]
