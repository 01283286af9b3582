"""RunConfig: everything `codealign run` needs, as one typed model; the YAML file and `--set` flags are views of it."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from codealign.config import StrictModel, build
from codealign.llm.backend import BackendConfig
from codealign.scale.config import ExecutorKind, RayOptions
from codealign.synth.base import GENERATOR, TEACHER


class SeedsConfig(StrictModel):
    """Where the seeds come from."""

    path: str = Field(..., description="JSONL or Parquet file (or a folder of them) with one seed per row")
    field: str = Field("seed", description="the column holding the seed code")
    limit: int | None = Field(None, ge=1, description="use only the first N valid seeds")


class ExecutionConfig(StrictModel):
    """Limits of each sandboxed run of a response's code and tests."""

    timeout: float = Field(10.0, gt=0, description="wall-clock seconds per program")
    memory_mb: int = Field(4096, ge=64, description="address-space limit per program, MiB")
    workers: int | None = Field(None, ge=1, description="programs run in parallel; default: one per CPU")


class RunConfig(StrictModel):
    """One pipeline run: seeds -> the method's LLM stages -> execution -> selection -> SFT and DPO files."""

    run_dir: str = Field(..., description="where every stage's shards, rejects and the final files go")
    seeds: SeedsConfig
    method: str = Field("selfcodealign", description="generation method (registry name)")
    method_options: dict[str, Any] = Field(default_factory=dict, description="the method's own options")
    backend: BackendConfig
    teacher: BackendConfig | None = Field(
        None, description="a second model for stages that ask for one (method distill answers with it)"
    )
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    selection: dict[str, Any] = Field(default_factory=dict, description="codealign.select.SelectionOptions")
    faithful: bool = Field(False, description="the paper's recipe only: turns off the test-quality gate")
    shard_size: int = Field(256, ge=1, description="records per shard: the unit of writing and of resume")
    skip_failed_requests: bool = Field(
        False, description="record requests that fail after retries as rejects instead of stopping the run"
    )
    executor: ExecutorKind = Field(
        "local", description="local: this machine; ray: model calls and programs on a Ray cluster, same files"
    )
    ray: RayOptions = Field(default_factory=RayOptions, description="the cluster and what its actors ask of it")

    @model_validator(mode="after")
    def _check_plugins(self) -> RunConfig:
        # Resolve the method and selection options now so a typo fails before any model is loaded. Writing to
        # __dict__ skips validate_assignment, which would run this validator again.
        self.__dict__["method_options"] = self.method_options_model().model_dump(mode="json")
        self.__dict__["selection"] = self.selection_options().model_dump(mode="json")
        if self.teacher is None and TEACHER in self.build_method().roles:
            raise ValueError(
                f"method {self.method!r} answers with a teacher model: add a `teacher:` block "
                "(type, model, base_url, mode) next to `backend:`"
            )
        return self

    def build_method(self) -> Any:
        """The method with its options, each backend role spoken to in its own block's mode."""
        modes = {GENERATOR: self.backend.mode}
        if self.teacher is not None:
            modes[TEACHER] = self.teacher.mode
        return self.method_class()(self.method_options_model(), mode=self.backend.mode, modes=modes)

    def backend_config(self, role: str) -> BackendConfig:
        if role == GENERATOR:
            return self.backend
        if role == TEACHER and self.teacher is not None:
            return self.teacher
        from codealign.errors import ConfigError

        raise ConfigError(f"method {self.method!r} asks for a {role!r} backend; the run config has no `{role}:` block")

    def method_class(self) -> Any:
        from codealign.registry import METHODS

        return METHODS.get(self.method)

    def method_options_model(self) -> StrictModel:
        cls = self.method_class()
        return build(cls.Options, dict(self.method_options), f"method_options ({self.method})")

    def selection_options(self) -> StrictModel:
        from codealign.select import SelectionOptions

        data = dict(self.selection)
        if self.faithful:
            data.update(faithful_selection())
        return build(SelectionOptions, data, "selection")

    def fixed(self) -> dict[str, Any]:
        """What decides a run's records; a resumed run must agree on all of it (selection may change freely)."""
        def model(b: BackendConfig) -> dict[str, Any]:
            return {"type": b.type, "model": b.model, "revision": b.revision, "mode": b.mode}

        fixed = {
            "seeds": self.seeds.model_dump(mode="json"),
            "method": self.method,
            "method_options": self.method_options,
            "backend": model(self.backend),
            "execution": {"timeout": self.execution.timeout, "memory_mb": self.execution.memory_mb},
            "shard_size": self.shard_size,
        }
        if self.teacher is not None and TEACHER in self.build_method().roles:
            fixed["teacher"] = model(self.teacher)
        return fixed


def faithful_selection() -> dict[str, Any]:
    """Selection options that turn off what the paper did not do."""
    from codealign.select import SelectionOptions

    fields = SelectionOptions.model_fields
    return {name: False for name in ("test_quality", "test_quality_gate", "check_tests") if name in fields}
