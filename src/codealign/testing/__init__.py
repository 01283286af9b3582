"""Test helpers shipped with the package: a scripted OpenAI-compatible server with realistic model outputs.

    python -m codealign.testing --port 0 --log requests.jsonl --ready-file port.txt
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScriptedServer", "read_log", "serve"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m codealign.testing.server` does not import the module twice.
    if name in __all__:
        from codealign.testing import server

        return getattr(server, name)
    raise AttributeError(name)
