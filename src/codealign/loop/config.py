"""LoopConfig: rounds of `codealign run` -> `codealign train` -> `codealign evaluate`, as one typed model.

The `run`, `train` and `dpo` blocks are the configs of those commands, less what the loop decides for each round
(the run directory, the model, the output folder, the data); they are checked against the commands' own models when
the loop config is read, so a typo fails before any model loads, and they follow those commands as they gain options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from codealign.config import StrictModel, build
from codealign.evaluate.job import EvalSettings

# What the loop sets in each block, per round: a config that sets one of them is refused with this reason.
RUN_SET_BY_LOOP = {"run_dir": "each round's run goes to LOOP_DIR/round-R/run"}
TRAIN_SET_BY_LOOP = {
    "model": "each round trains the base model or the previous round's (train_from)",
    "output_dir": "each round's model goes to LOOP_DIR/round-R/sft (and dpo)",
    "data": "each round trains on its own run (train_data)",
    "stage": "the train block is SFT and the dpo block DPO",
}
_PLACEHOLDER = "/loop-placeholder"


class ServerConfig(StrictModel):
    """A server the loop starts on each round's model, and stops (or restarts) when the model changes.

    `command` is split like a shell line (no shell runs it) after filling in `{model}` (the model to serve: the base
    model, then each round's model folder; requests name the model by exactly this string), `{host}` and `{port}`
    (from the backend's base_url) and `{python}` (the interpreter running codealign). The loop owns the process: it
    is started in a session of its own, stopped with SIGTERM (SIGKILL after `stop_timeout`), and dies with the loop.
    """

    command: str = Field(..., description="e.g. vllm serve {model} --host {host} --port {port}")
    ready_timeout: float = Field(900.0, gt=0, description="seconds to wait for the server to list the model")
    stop_timeout: float = Field(60.0, gt=0, description="seconds between SIGTERM and SIGKILL")
    ready_path: str = Field("/models", description="polled under base_url until it answers 200 and lists the model")
    stop_for_training: bool = Field(True, description="stop the server while a model trains (frees the accelerator)")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables for the server")

    @field_validator("command")
    @classmethod
    def _has_model(cls, value: str) -> str:
        if "{model}" not in value:
            raise ValueError("must contain {model}, the model folder the server loads for each round")
        return value


class LoopEvalConfig(EvalSettings):
    """What each round's model is evaluated on, and how (greedy pass@1 in chat mode unless said otherwise)."""

    mode: Literal["completion", "chat"] = Field("chat", description="chat: the trained models answer instructions")
    ks: tuple[int, ...] = (1, 10, 100)
    benchmarks: list[str] = Field(default_factory=list, description="humaneval, humaneval+, mbpp+, jsonl:PATH, ...")
    data: dict[str, str] = Field(default_factory=dict, description="benchmark -> its data file (humaneval+, mbpp, ...)")
    base: bool = Field(True, description="evaluate the base model too, as the first point of every curve")
    base_mode: Literal["completion", "chat"] | None = Field(None, description="the base model's mode; null = mode")
    own_data: bool = Field(
        False, description="also evaluate each round's model and the next one on the tasks of the round's own data"
    )
    backend: dict[str, Any] | None = Field(
        None, description="a backend block for evaluation (its model is set per round); null = the run's backend"
    )
    server: ServerConfig | None = Field(None, description="with evaluate.backend: a server restarted per model")
    workers: int | None = Field(None, ge=1, description="sandbox processes; default one per CPU")

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from codealign.llm import BackendConfig

            build(BackendConfig, {"model": _PLACEHOLDER, **value}, "evaluate.backend")
        return value

    @model_validator(mode="after")
    def _server_needs_backend(self) -> LoopEvalConfig:
        if self.server is not None and self.backend is None:
            raise ValueError("evaluate.server needs an evaluate.backend block (the run's server is `server:`)")
        return self

    def settings(self, mode: str | None = None) -> EvalSettings:
        fields = {k: getattr(self, k) for k in EvalSettings.model_fields}
        return EvalSettings.model_validate({**fields, "mode": mode or self.mode})


class ReportConfig(StrictModel):
    figures: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FIGURES),
        description="QDC figures plotted by round, as metric.figure (see codealign measure)",
    )


DEFAULT_FIGURES = (
    "tests.tests_per_example",
    "vendi.code.vendi_ratio",
    "distinct_n.instruction.distinct_2.sample",
    "code_size.ast_nodes",
    "instruction_size.words",
)


class LoopConfig(StrictModel):
    """Rounds r = 0..rounds-1: M_r generates data (run), M_{r+1} is trained on it (train, dpo) and evaluated."""

    loop_dir: str = Field(..., description="one folder per round (run, models, evaluation), the report and summary")
    rounds: int = Field(2, ge=1, description="rounds to run; raising it on a finished loop runs the extra rounds")
    base_model: str | None = Field(None, description="M_0, the model round 0 generates with; default run.backend.model")
    run: dict[str, Any] = Field(..., description="a `codealign run` config without run_dir")
    server: ServerConfig | None = Field(None, description="a server for run.backend, restarted on each round's model")
    train: dict[str, Any] = Field(default_factory=dict, description="a `codealign train` config (SFT) without model, "
                                  "output_dir and data")  # fmt: skip
    dpo: dict[str, Any] | None = Field(None, description="DPO after SFT on the round's pairs: a train config; null = none")
    train_from: Literal["base", "previous"] = Field(
        "previous", description="previous: M_{r+1} continues from M_r; base: every round trains M_0 afresh (ReST-EM)"
    )
    train_data: Literal["round", "all"] = Field("round", description="round: this round's data; all: every round's")
    train_launcher: list[str] | None = Field(
        None, description="run `codealign train` as a child through this command, e.g. [accelerate, launch]; "
        "null = in this process"
    )
    evaluate: LoopEvalConfig = Field(default_factory=LoopEvalConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)

    @model_validator(mode="after")
    def _check_blocks(self) -> LoopConfig:
        for key, why in RUN_SET_BY_LOOP.items():
            if key in self.run:
                raise ValueError(f"run.{key} is set by the loop: {why}")
        if not isinstance(self.run.get("backend"), dict):
            raise ValueError("run.backend is required: the backend block the base model generates with")
        if not self.base_model_path():
            raise ValueError("name the base model: base_model, or run.backend.model")
        for block, data in (("train", self.train), ("dpo", self.dpo)):
            for key, why in TRAIN_SET_BY_LOOP.items():
                if data is not None and key in data:
                    raise ValueError(f"{block}.{key} is set by the loop: {why}")
        self.run_config(0, self.base_model_path(), None)  # every run option checked now
        sft = self.train_config("sft", self.base_model_path(), _PLACEHOLDER, [_PLACEHOLDER])
        if sft.peft != "none" and not sft.merge:
            raise ValueError("train.merge must stay true: the next round loads the merged model")
        if self.dpo is not None:
            dpo = self.train_config("dpo", self.base_model_path(), _PLACEHOLDER, [_PLACEHOLDER])
            if dpo.peft != "none" and not dpo.merge:
                raise ValueError("dpo.merge must stay true: the next round loads the merged model")
        if self.server is not None and not self.run["backend"].get("base_url"):
            raise ValueError("server needs run.backend.base_url (type: openai), where the server will listen")
        if self.evaluate.server is not None and not (self.evaluate.backend or {}).get("base_url"):
            raise ValueError("evaluate.server needs evaluate.backend.base_url, where the server will listen")
        return self

    # -- the per-round configs ---------------------------------------------------------------------------------

    def base_model_path(self) -> str:
        return self.base_model or str(self.run["backend"].get("model") or "")

    def round_dir(self, r: int) -> Path:
        return Path(self.loop_dir) / f"round-{r}"

    def run_config(self, r: int, model: str, revision: str | None) -> Any:
        """Round r's `codealign run` config: the run block, its run directory, and M_r as the model."""
        from codealign.pipeline import RunConfig

        data = {**self.run, "run_dir": str(self.round_dir(r) / "run")}
        data["backend"] = {**self.run["backend"], "model": model, "revision": revision}
        return build(RunConfig, data, "loop config, run block")

    def train_config(self, stage: str, model: str, output_dir: str, data: list[str]) -> Any:
        """The SFT (train block) or DPO (dpo block) config of one round."""
        from codealign.train import TrainConfig

        block = self.train if stage == "sft" else (self.dpo or {})
        values = {**block, "stage": stage, "model": model, "output_dir": output_dir, "data": data}
        return build(TrainConfig, values, f"loop config, {'train' if stage == 'sft' else 'dpo'} block")

    def eval_backend(self, model: str, revision: str | None) -> Any:
        """The backend block that evaluates `model`: evaluate.backend, else the run's backend."""
        from codealign.llm import BackendConfig

        block = self.evaluate.backend if self.evaluate.backend is not None else self.run["backend"]
        return build(BackendConfig, {**block, "model": model, "revision": revision}, "loop config, evaluation backend")

    def fixed(self) -> dict[str, Any]:
        """What decides the data and the models; a resumed loop must agree on all of it (rounds may grow)."""
        base = self.base_model_path()
        run = self.run_config(0, base, None).fixed()
        run["backend"].pop("model", None)
        return {
            "base_model": base,
            "run": run,
            "train": self.train_config("sft", base, _PLACEHOLDER, [_PLACEHOLDER]).fixed(),
            "dpo": self.train_config("dpo", base, _PLACEHOLDER, [_PLACEHOLDER]).fixed() if self.dpo is not None else None,
            "train_from": self.train_from,
            "train_data": self.train_data,
        }
