"""`codealign curate SOURCE -o seeds.jsonl` and `codealign curate commits REPO -o commits.jsonl`."""

from __future__ import annotations

from pathlib import Path

import typer

from codealign.commands.exec import EXECUTOR, RAY_ADDRESS, RAY_OPTION


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value is not None else None


def register(app: typer.Typer) -> None:
    @app.command("curate")
    def curate(
        source: str = typer.Argument(
            ..., help="A folder, a git repository, .jsonl/.parquet files, a Hugging Face dataset name, or `commits`."
        ),
        repo: str | None = typer.Argument(None, help="With `commits`: the git repository to mine.", show_default=False),
        output: Path = typer.Option(..., "-o", "--output", help="Output JSONL (rejects and funnel are written next to it)."),
        config: Path | None = typer.Option(None, "--config", "-c", help="YAML with CurateConfig keys."),
        rev: str | None = typer.Option(None, help="Git revision to read (default: the working tree; HEAD for commits)."),
        unit: str | None = typer.Option(None, help="function (seed functions) or file (whole files)."),
        languages: str | None = typer.Option(
            None, help="Languages to read, e.g. python,cpp,java,go,rust,javascript,typescript,shell (default python)."
        ),
        licenses: str | None = typer.Option(None, help="License classes to keep, e.g. permissive,unknown."),
        optout: Path | None = typer.Option(None, help="Opt-out file: repo:NAME, path:GLOB or author:NAME lines."),
        filters: str | None = typer.Option(None, help="Comma-separated filter names (default: SelfCodeAlign seed rules)."),
        threshold: float | None = typer.Option(None, help="Near-dedup Jaccard threshold (default 0.5)."),
        no_near_dedup: bool = typer.Option(False, "--no-near-dedup", help="Skip MinHash near-dedup."),
        no_pii: bool = typer.Option(False, "--no-pii", help="Do not redact emails, IPs and secrets."),
        decontaminate: str | None = typer.Option(None, help="Benchmarks to decontaminate against ('' for none)."),
        content_field: str | None = typer.Option(None, help="Column holding the code, for JSONL/Parquet/HF sources."),
        workers: int | None = typer.Option(None, help="Processes for per-file work and MinHash signatures."),
        limit: int | None = typer.Option(None, help="Stop after this many source files."),
        executor: str | None = typer.Option(None, "--executor", help=EXECUTOR.help),
        ray_address: str | None = RAY_ADDRESS,
        ray_option: list[str] | None = RAY_OPTION,
    ) -> None:
        """Curate seed functions from code, with every rejection counted and explained."""
        from codealign.config import build, load_yaml
        from codealign.errors import ConfigError

        if source == "commits" and (repo is not None or not Path("commits").exists()):
            if repo is None:
                raise ConfigError("usage: codealign curate commits REPO -o commits.jsonl")
            from codealign.curate.commits import run_commits

            run_commits(repo, output, rev=rev or "HEAD", pii=not no_pii, optout=str(optout) if optout else None)
            return
        if repo is not None:
            raise ConfigError(f"unexpected argument {repo!r}; only `codealign curate commits REPO` takes two")
        from codealign.curate.pipeline import CurateConfig, run_curate

        data = load_yaml(config) if config else {}
        flags = {
            "rev": rev, "unit": unit, "languages": _split(languages), "licenses": _split(licenses), "optout": str(optout) if optout else None,
            "filters": _split(filters), "threshold": threshold, "decontaminate": _split(decontaminate),
            "content_field": content_field, "workers": workers, "limit": limit,
        }  # fmt: skip
        data.update({k: v for k, v in flags.items() if v is not None})
        if no_near_dedup:
            data["near_dedup"] = False
        if no_pii:
            data["pii"] = False
        if unit == "file" and filters is None:
            data["filters"] = []
        if executor is not None:
            data["executor"] = executor
        if ray_address is not None or ray_option:
            from codealign.config import apply_overrides

            ray = data.setdefault("ray", {})
            if not isinstance(ray, dict):
                raise ConfigError("`ray` in the config must be a mapping of settings")
            apply_overrides(ray, ray_option or [])
            if ray_address is not None:
                ray["address"] = ray_address
        run_curate(source, output, build(CurateConfig, data, str(config) if config else "options"))
