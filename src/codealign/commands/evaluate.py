"""`codealign evaluate`: pass@k of a model (generated here, any backend) or of samples you have, in the sandbox."""

from __future__ import annotations

from pathlib import Path

import typer

from codealign.commands.exec import (
    ALLOW_NO_ISOLATION,
    CACHE_DIR,
    EXECUTOR,
    ISOLATION,
    NO_CACHE,
    RAY_ADDRESS,
    RAY_OPTION,
    RETRY_TIMEOUTS,
    WORKERS,
)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        benchmark: str = typer.Option(
            "humaneval", "--benchmark", "-b",
            help="humaneval, humaneval+, mbpp, mbpp+, humaneval-infilling[:SUBSET[:FIM]], or jsonl:PATH.",
        ),
        model: str | None = typer.Option(
            None, "--model", "-m", help="A local model folder (transformers), or the served model's name with --base-url."
        ),
        base_url: str | None = typer.Option(
            None, "--base-url", help="An OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."
        ),
        backend: Path | None = typer.Option(
            None, "--backend", help="YAML file with a full backend block (vllm, API keys, ...)."
        ),
        mode: str | None = typer.Option(
            None, "--mode", help="completion (base models: the prompt as it is) or chat (instruct models)."
        ),
        n: int = typer.Option(1, "-n", help="Samples per task."),
        temperature: float = typer.Option(0.0, "--temperature", help="0 is greedy."),
        max_tokens: int = typer.Option(512, "--max-tokens", help="Maximum new tokens per sample."),
        k: str | None = typer.Option(
            None, "-k", help="Comma-separated k values (default 1,10,100); pass@k is reported where n >= k."
        ),
        output: Path | None = typer.Option(
            None, "-o", "--output",
            help="Per-sample results (JSONL); the report (.html) and summary (.summary.json) go next to it.",
        ),
        samples: Path | None = typer.Option(
            None, "--samples", "-s", help='Score these samples instead: JSONL of {"task_id", "completion"}.'
        ),
        data: Path | None = typer.Option(
            None, "--data", help="The benchmark's data file (humaneval+, mbpp, mbpp+, humaneval-infilling)."
        ),
        train_data: Path | None = typer.Option(
            None, "--train-data", help="A run directory or dataset: report the benchmark tasks that appear in it."
        ),
        workers: int = WORKERS,
        timeout: float | None = typer.Option(
            None, "--timeout", help="Wall-clock seconds per sample (default: the benchmark's, 3 s for HumanEval)."
        ),
        memory_mb: int = typer.Option(4096, "--memory-mb", help="Address-space limit per sample, in MiB."),
        cache_dir: Path | None = CACHE_DIR,
        no_cache: bool = NO_CACHE,
        isolation: str = ISOLATION,
        allow_no_isolation: bool = ALLOW_NO_ISOLATION,
        retry_timeouts: bool = RETRY_TIMEOUTS,
        executor: str = EXECUTOR,
        ray_address: str | None = RAY_ADDRESS,
        ray_option: list[str] | None = RAY_OPTION,
    ) -> None:
        """Evaluate a model on a benchmark (or score existing samples) and print pass@k as JSON."""
        from codealign.errors import ConfigError
        from codealign.scale.config import executor_from_flags

        where = executor_from_flags(executor, ray_address, ray_option)

        if mode is not None and mode not in ("completion", "chat"):
            raise ConfigError(f"--mode must be completion or chat, got {mode!r}")
        if samples is not None:
            if model is not None or base_url is not None or backend is not None:
                raise ConfigError("--samples scores existing samples; leave out --model, --base-url and --backend")
            from codealign.evaluate.ui import run_samples_command

            run_samples_command(benchmark, data, samples, k or "1,10,100", output, workers, timeout, memory_mb, cache_dir,
                                no_cache, isolation, allow_no_isolation, where, retry_timeouts=retry_timeouts)  # fmt: skip
            return
        from codealign.evaluate.ui import run_model_command

        run_model_command(dict(
            benchmark=benchmark, model=model, base_url=base_url, backend=backend, mode=mode, n=n,
            temperature=temperature, max_tokens=max_tokens, k=k, output=output, data=data, train_data=train_data,
            workers=workers, timeout=timeout, memory_mb=memory_mb, cache_dir=cache_dir, no_cache=no_cache,
            isolation=isolation, allow_no_isolation=allow_no_isolation, executor=where, retry_timeouts=retry_timeouts,
        ))  # fmt: skip
