"""`codealign exec`: run programs from a JSONL file in the sandbox and write one outcome per program."""

from __future__ import annotations

from pathlib import Path

import typer

ISOLATION_HELP = "auto (bubblewrap, else namespaces), bwrap, unshare, or none (needs --allow-no-isolation)."

# Sandbox options shared by every command that executes code (`exec`, `evaluate`).
WORKERS = typer.Option(0, "--workers", "-w", help="Parallel workers (0: one per CPU).")
CACHE_DIR = typer.Option(None, "--cache-dir", help="Cache folder (default $CODEALIGN_CACHE_DIR).")
NO_CACHE = typer.Option(False, "--no-cache", help="Execute everything; read and store nothing.")
ISOLATION = typer.Option("auto", "--isolation", help=ISOLATION_HELP)
ALLOW_NO_ISOLATION = typer.Option(False, "--allow-no-isolation", help="Run even without namespaces.")
RETRY_TIMEOUTS = typer.Option(
    False, "--retry-timeouts", help="Run again programs whose cached outcome is a timeout (a loaded machine may "
    "have caused it); other outcomes still come from the cache."
)

# Where the work runs, for every command that can run on a cluster (`exec`, `evaluate`, `dedup`, `curate`).
EXECUTOR = typer.Option("local", "--executor", help="local (this machine) or ray (a Ray cluster; codealign[ray]).")
RAY_ADDRESS = typer.Option(None, "--ray-address", help="Ray cluster to join (auto, HOST:PORT, ray://HOST:10001).")
RAY_OPTION = typer.Option(None, "--ray-option", help="A `ray:` setting as key=value (repeatable), e.g. num_cpus=2.")


def register(app: typer.Typer) -> None:
    @app.command("exec")
    def exec_command(
        programs: Path = typer.Argument(
            ..., help='JSONL, one {"id", "language", "code", "tests"?, ...} per line.'
        ),
        output: Path = typer.Option(
            ..., "-o", "--output", help="Where to write one outcome per line (JSONL)."
        ),
        workers: int = WORKERS,
        timeout: float = typer.Option(
            10.0, "--timeout", help="Wall-clock seconds per program, unless its line says."
        ),
        memory_mb: int = typer.Option(4096, "--memory-mb", help="Address-space limit per program, in MiB."),
        compile_timeout: float | None = typer.Option(
            None, "--compile-timeout", help="Seconds for a compiler (default: the language's own, 30 s)."
        ),
        compile_memory_mb: int | None = typer.Option(
            None, "--compile-memory-mb", help="Address-space limit of a compiler (default: the language's, 4096)."
        ),
        cache_dir: Path | None = CACHE_DIR,
        no_cache: bool = NO_CACHE,
        isolation: str = ISOLATION,
        allow_no_isolation: bool = ALLOW_NO_ISOLATION,
        retry_timeouts: bool = RETRY_TIMEOUTS,
        executor: str = EXECUTOR,
        ray_address: str | None = RAY_ADDRESS,
        ray_option: list[str] | None = RAY_OPTION,
    ) -> None:
        """Execute untrusted programs in the sandbox: typed outcomes, cached, streaming."""
        from codealign.sandbox.ui import run_exec_command
        from codealign.scale.config import executor_from_flags

        run_exec_command(programs, output, workers, timeout, memory_mb, cache_dir, no_cache, isolation,
                         allow_no_isolation, compile_timeout=compile_timeout, compile_memory_mb=compile_memory_mb,
                         executor=executor_from_flags(executor, ray_address, ray_option),
                         retry_timeouts=retry_timeouts)  # fmt: skip
