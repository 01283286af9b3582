"""Where this process stands under `accelerate launch` (or torchrun): one process writes files and shows progress.

Without a launcher there is one process, and it is the main one.
"""

from __future__ import annotations

import os


def _state() -> object:
    from accelerate import PartialState

    return PartialState()


def _env(*names: str, default: str) -> int:
    """The first of the launcher variables that is set: torchrun/accelerate, then Open MPI, then MPICH."""
    return int(next((os.environ[n] for n in names if os.environ.get(n)), default))


def world_size() -> int:
    return _env("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", default="1")


def local_rank() -> int:
    return _env("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", default="0")


def is_main() -> bool:
    return _env("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", default="0") == 0


def wait_for_everyone() -> None:
    """A barrier across processes; nothing to wait for when there is one."""
    if world_size() > 1:
        _state().wait_for_everyone()  # type: ignore[attr-defined]
