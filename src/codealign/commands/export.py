"""`codealign export RUN_DIR -o DIR`: the run's final data as a Hugging Face dataset, Parquet or JSONL, with a card."""

from __future__ import annotations

from pathlib import Path

import typer

EXPORT_HELP = """Export the final SFT and DPO data of a run as a dataset with its card (README.md).

--format parquet (default): data/sft/*.parquet and data/dpo/*.parquet, the layout the Hugging Face Hub reads;
--format hf: a `datasets` folder (datasets.load_from_disk(DIR) gives a DatasetDict with sft and dpo);
--format jsonl: data/sft/train.jsonl and data/dpo/train.jsonl.

Every row keeps its provenance: the seed's repository, commit, file, lines and license, the method, model and ids.
The card's license comes from the seeds' licenses. --push-to-hub USER/NAME uploads the Parquet layout and the card
to a Hub dataset repository (needs network access and a token: `huggingface-cli login` or HF_TOKEN).
"""


def register(app: typer.Typer) -> None:
    @app.command("export", help=EXPORT_HELP)
    def export_command(
        run_dir: Path = typer.Argument(..., help="A finished codealign run directory."),
        out: Path = typer.Option(..., "-o", "--out", help="The dataset folder to write."),
        fmt: str = typer.Option("parquet", "--format", "-f", help="parquet, hf or jsonl."),
        name: str = typer.Option("", "--name", help="The dataset's name in the card (default: the run's folder name)."),
        license: str = typer.Option("", "--license", help="The card's license, instead of the one derived from the seeds."),
        contact: str = typer.Option("", "--contact", help="Who to write to for opt-out requests, named in the card."),
        force: bool = typer.Option(False, "--force", help="Replace DIR if it exists."),
        shard_rows: int = typer.Option(100_000, "--shard-rows", help="Rows per Parquet file."),
        no_measure: bool = typer.Option(False, "--no-measure", help="Do not measure the data for the card's QDC table."),
        push_to_hub: str = typer.Option("", "--push-to-hub", help="Also upload to this Hub dataset repository (USER/NAME)."),
        private: bool = typer.Option(False, "--private", help="Create the Hub repository as private."),
    ) -> None:
        from codealign.export.dataset import export_run

        result = export_run(
            run_dir, out, fmt.strip().lower(), name=name or None, license=license or None, contact=contact or None,  # type: ignore[arg-type]
            force=force, shard_rows=shard_rows, measure=not no_measure, push_to_hub=push_to_hub or None,
            private=private,
        )
        license_text = ", ".join(result.license) if isinstance(result.license, list) else result.license
        typer.echo(f"exported {result.rows['sft']:,} SFT rows and {result.rows['dpo']:,} DPO pairs to {result.path} "
                   f"({fmt}; license: {license_text}; card: {result.path / 'README.md'})")
        if result.pushed:
            typer.echo(f"pushed: {result.pushed}")
