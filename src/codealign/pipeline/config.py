"""RunConfig: everything `codealign run` needs, as one typed model; the YAML file and `--set` flags are views of it."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from codealign.config import StrictModel, build
from codealign.llm.backend import BackendConfig
from codealign.pipeline.measure import RunMeasureOptions
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
    retry_timeouts: bool = Field(
        False, description="run programs whose cached outcome is a timeout again (also in finished shards)"
    )


class ChecksConfig(StrictModel):
    """Execution feedback after the pass/fail run: each part is one more pipeline step (off in faithful mode)."""

    coverage: bool = Field(
        False, description="line and branch coverage of each passing sample by its own tests (one more run each); "
        "on when selection.min_coverage or min_branch_coverage is set"
    )
    mutants: int = Field(0, ge=0, le=32, description="cheap AST mutants of each passing solution run against its tests")
    mutant_timeout: float = Field(2.0, gt=0, description="wall-clock seconds per mutant run (a looping mutant is killed)")
    cross_check: bool = Field(
        False, description="every sample's code against the tests of other samples of its instruction; on when "
        "selection.choose or selection.pairs is consensus"
    )
    cross_tests: int = Field(5, ge=1, description="T: the suites of at most this many passing samples per instruction")


class RepairConfig(StrictModel):
    """The repair loop: a failing sample goes back to the model with its tests and error (off in faithful mode)."""

    rounds: int = Field(0, ge=0, le=10, description="R: repair rounds per failing sample; 0 = off")


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
    checks: ChecksConfig = Field(default_factory=ChecksConfig, description="coverage, mutants, cross-checking")
    repair: RepairConfig = Field(default_factory=RepairConfig, description="the repair loop")
    faithful: bool = Field(
        False, description="the paper's recipe only: no test-quality gate, checks, consensus or repair"
    )
    shard_size: int = Field(256, ge=1, description="records per shard: the unit of writing and of resume")
    skip_failed_requests: bool = Field(
        False, description="record requests that fail after retries as rejects instead of stopping the run"
    )
    executor: ExecutorKind = Field(
        "local", description="local: this machine; ray: model calls and programs on a Ray cluster, same files"
    )
    ray: RayOptions = Field(default_factory=RayOptions, description="the cluster and what its actors ask of it")
    measure: RunMeasureOptions = Field(
        default_factory=RunMeasureOptions, description="QDC measurement of the final data into run_dir/measure/"
    )

    @model_validator(mode="after")
    def _check_plugins(self) -> RunConfig:
        # Resolve the method and selection options now so a typo fails before any model is loaded. Writing to
        # __dict__ skips validate_assignment, which would run this validator again.
        self.__dict__["method_options"] = self.method_options_model().model_dump(mode="json")
        self.__dict__["selection"] = self.selection_options().model_dump(mode="json")
        selection = self.selection_options()
        if selection.min_kill_rate is not None and not self.faithful and self.checks.mutants == 0:  # type: ignore[attr-defined]
            raise ValueError("selection.min_kill_rate needs mutants to kill: set checks.mutants (4 is a good start)")
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

    def effective_checks(self) -> ChecksConfig:
        """The checks that run: none in faithful mode; coverage and cross-checking also when selection needs them."""
        if self.faithful:
            return ChecksConfig(cross_tests=self.checks.cross_tests)
        sel: Any = self.selection_options()
        coverage = self.checks.coverage or sel.min_coverage is not None or sel.min_branch_coverage is not None
        cross = self.checks.cross_check or sel.choose == "consensus" or sel.pairs == "consensus"
        return self.checks.model_copy(update={"coverage": coverage, "cross_check": cross})

    def repair_rounds(self) -> int:
        return 0 if self.faithful else self.repair.rounds

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
            if data.get("pairs") == "consensus":  # no cross-checking in the paper's recipe: pairs from failures
                data["pairs"] = "failing"
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
        if self.repair_rounds():  # repairs add samples; a run without them keeps the keys it always had
            fixed["repair"] = {"rounds": self.repair_rounds()}
        if self.teacher is not None and TEACHER in self.build_method().roles:
            fixed["teacher"] = model(self.teacher)
        return fixed


def faithful_selection() -> dict[str, Any]:
    """Selection options that turn off what the paper did not do."""
    from codealign.select import SelectionOptions

    off = {"test_quality_gate": False, "min_coverage": None, "min_branch_coverage": None, "min_kill_rate": None,
           "choose": "random"}  # fmt: skip
    return {name: value for name, value in off.items() if name in SelectionOptions.model_fields}
