"""`codealign report RUN_DIR`: the run's page (report.html), rebuilt from its files."""

from __future__ import annotations

from pathlib import Path

import typer

REPORT_HELP = """Write the run's page, RUN_DIR/report.html, from the run's files.

The page shows the funnel stage by stage with every rejection reason and examples of the model's text, pass rates,
execution outcomes, backend usage, the QDC summary, licenses, and the lineage of final examples back to their
seed's source file, repository, commit and license.

Every `codealign run` ends with this page; this command rebuilds it, for instance after changing selection.
"""


def register(app: typer.Typer) -> None:
    @app.command("report", help=REPORT_HELP)
    def report_command(
        run_dir: Path = typer.Argument(..., help="A codealign run directory."),
        out: Path | None = typer.Option(None, "-o", "--out", help="Where to write the page (default RUN_DIR/report.html)."),
        examples: int = typer.Option(20, "--examples", min=0, help="Final examples traced in the lineage section."),
        per_reason: int = typer.Option(3, "--per-reason", min=0, help="Rejected examples shown per reason."),
        no_measure: bool = typer.Option(
            False, "--no-measure", help="Do not measure the final data when the run has no QDC measurement."
        ),
    ) -> None:
        from codealign.export.report import write_report

        path = write_report(run_dir, out, examples=examples, per_reason=per_reason, measure=not no_measure)
        typer.echo(f"report: {path}")
