"""`codealign loop`: rounds of self-alignment. Round r generates data with M_r (`codealign run`), trains M_{r+1} on it
(`codealign train`: SFT, optionally DPO; LoRA merged), evaluates M_{r+1} (`codealign evaluate`) and hands it on.

    from codealign.loop import LoopConfig, run_loop
    summary = run_loop(load_config(LoopConfig, "examples/loop.yaml"), open_cache())

Every step is the library call of its command, run in this process (training optionally in a child process through
`train_launcher`); one folder per round; a rerun continues at the first unfinished step (see `codealign.loop.rounds`).
"""

from __future__ import annotations

from typing import Any

from codealign.loop.config import LoopConfig

__all__ = ["LoopConfig", "run_loop"]


def run_loop(config: LoopConfig, cache: Any, console: Any = None, progress: bool = True) -> dict[str, Any]:
    from codealign.loop.rounds import run_loop as run

    return run(config, cache, console, progress)
