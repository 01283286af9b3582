"""The `codealign` command line: one command per job, each in `codealign.commands.<name>`.

Library errors (CodealignError) become one red line and exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from codealign import __version__
from codealign.errors import CodealignError

# Each module defines `register(app: typer.Typer) -> None`; keep the list in the order `--help` shows it.
COMMAND_MODULES = [
    "exec",
    "evaluate",
    "run",
    "cache",
    "measure",
    "compare",
    "curate",
    "dedup",
    "decontaminate",
    "report",
    "export",
    "train",
]

app = typer.Typer(
    name="codealign",
    help="Make, validate and measure synthetic instruction data for code LLMs, and align models with it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"codealign {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """codealign: synthetic instruction data for code models, validated by execution."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"codealign.commands.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except CodealignError as exc:
        from rich.console import Console
        from rich.markup import escape

        # Escaped: messages hold brackets such as "pip install 'codealign[hf]'" that are not markup.
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
