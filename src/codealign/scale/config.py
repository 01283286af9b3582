"""Where work runs: `executor: local | ray` and the `ray:` block, shared by the curate and run configs.

Nothing here imports Ray; it is imported when a `ray` executor starts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from codealign.config import StrictModel

ExecutorKind = Literal["local", "ray"]


class RayOptions(StrictModel):
    """How to reach a Ray cluster and what each task or actor asks of it."""

    address: str | None = Field(
        None, description="cluster to join: 'auto' (the one `ray start` made here), HOST:PORT or ray://HOST:10001; "
        "unset: $RAY_ADDRESS, else a Ray started on this machine for the run"
    )
    num_cpus: float = Field(1.0, ge=0, description="CPUs each task reserves (curation batches, MinHash, LSH, checks)")
    memory_mb: int | None = Field(None, ge=1, description="memory each task reserves, MiB (a scheduling hint)")
    resources: dict[str, float] = Field(
        default_factory=dict, description="custom resources each task and actor needs, e.g. {curate: 1}"
    )
    max_retries: int = Field(3, ge=0, description="times a task is run again after its worker or node died")
    split_mb: float = Field(64.0, gt=0, description="dedup: bytes of JSONL each reading task takes, in MB")
    partitions: int | None = Field(
        None, ge=1, description="dedup: tasks that group LSH buckets, and that check pairs (default: bands / 4)"
    )
    sandbox_workers: int | None = Field(
        None, ge=1, description="sandbox processes in each node's actor (default: the node's CPUs)"
    )
    backend_actors: int | None = Field(
        None, ge=1, description="actors holding a model backend (default: one per node, or one per GPU with num_gpus)"
    )
    num_gpus: float = Field(0.0, ge=0, description="GPUs each backend actor holds (in-process models)")
    init: dict[str, Any] = Field(
        default_factory=dict, description="extra ray.init() arguments when Ray is started here (num_cpus, ...)"
    )

    def task_options(self) -> dict[str, Any]:
        """Options of every Ray task codealign submits."""
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "max_retries": self.max_retries}
        if self.memory_mb:
            opts["memory"] = self.memory_mb * 2**20
        if self.resources:
            opts["resources"] = dict(self.resources)
        return opts


class ExecutorConfig(StrictModel):
    """`executor` and `ray` as one value, for code that takes both."""

    type: ExecutorKind = "local"
    ray: RayOptions = Field(default_factory=RayOptions)

    @classmethod
    def of(cls, config: Any) -> ExecutorConfig:
        """From any config with `executor` and `ray` fields."""
        return cls(type=config.executor, ray=config.ray)


def executor_from_flags(executor: str, address: str | None = None, options: list[str] | None = None) -> ExecutorConfig:
    """`--executor`, `--ray-address` and `--ray-option key=value` flags as an ExecutorConfig."""
    from codealign.config import apply_overrides, build
    from codealign.errors import ConfigError

    if executor not in ("local", "ray"):
        raise ConfigError(f"--executor must be local or ray, got {executor!r}")
    data: dict[str, Any] = apply_overrides({}, options or [])
    if address is not None:
        data["address"] = address
    if executor == "local" and data:
        raise ConfigError("--ray-address and --ray-option need --executor ray")
    return ExecutorConfig(type=executor, ray=build(RayOptions, data, "--ray-option"))
