"""`codealign train`: SFT and DPO of a causal LM on codealign data (or any instruction data), through TRL and PEFT.

    from codealign.train import TrainConfig, train
    summary = train(TrainConfig(model="./base", output_dir="./sft", data="runs/demo"))

torch, transformers, trl and peft are imported only when a run starts (they are the `hf` extra).
"""

from __future__ import annotations

from typing import Any

from codealign.train.config import TrainConfig

__all__ = ["TrainConfig", "train"]


def train(config: TrainConfig, console: Any = None) -> dict[str, Any]:
    from codealign.train.job import train as run

    return run(config, console)
