"""Ctrl-C: the first one stops the work (KeyboardInterrupt, finally blocks run); a second one exits at once.

Worker processes ignore SIGINT: a Ctrl-C in a terminal reaches the whole process group, and the parent alone
decides what to stop, so no worker prints a traceback of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

_state = {"interrupted": False}


def interrupted() -> bool:
    """Whether a SIGINT arrived in this process (since `install`)."""
    return _state["interrupted"]


def _handler(signum: int, frame: Any) -> None:
    if _state["interrupted"]:
        # Cleanup after the first Ctrl-C is taking too long for the user: leave now, without a traceback.
        with contextlib.suppress(Exception):
            sys.stderr.write("interrupted\n")
            sys.stderr.flush()
        os._exit(130)
    _state["interrupted"] = True
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT as described above (main thread only; the CLI calls it once)."""
    _state["interrupted"] = False
    signal.signal(signal.SIGINT, _handler)


def ignore_in_worker(*_: Any) -> None:
    """Pool initializer (or the first line of one): this process ignores Ctrl-C; its parent handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
