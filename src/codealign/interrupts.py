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
    """Handle SIGINT as described above (main thread only; the CLI calls it once).

    A process started with SIGINT ignored (a background job of a shell) keeps ignoring it. One started with
    SIGINT blocked gets it unblocked here, so a Ctrl-C that came during start-up is handled now, by this handler.
    """
    _state["interrupted"] = False
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return
    signal.signal(signal.SIGINT, _handler)
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def finishing() -> None:
    """The command is over (done or failed): a Ctrl-C now would only interrupt the exit, so it is ignored."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def ignore_in_worker(*_: Any) -> None:
    """Pool initializer (or the first line of one): this process ignores Ctrl-C; its parent handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start_worker(initializer: Any, initargs: tuple) -> None:
    ignore_in_worker()
    if initializer is not None:
        initializer(*initargs)


def _nothing() -> None:
    return None


def process_pool(workers: int, mp_context: Any, initializer: Any = None, initargs: tuple = ()) -> Any:
    """A ProcessPoolExecutor whose workers are all started now and leave Ctrl-C to this process.

    They are started with SIGINT blocked (the mask is inherited by fork and exec), so a Ctrl-C that reaches the
    process group while a worker is still importing cannot make it print a traceback; each worker then ignores it.
    """
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context, _start_worker, (initializer, initargs))
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError, OSError):
        blocked = None
    try:
        for _ in range(workers):  # each submit starts a worker while none is idle
            pool.submit(_nothing)
    finally:
        if blocked is not None and signal.SIGINT not in blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    return pool
