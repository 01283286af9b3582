"""The `codealign` command line: one command per job, each in `codealign.commands.<name>`.

Library errors (CodealignError) and filesystem errors on a path become one red line and exit status 2; Ctrl-C is
one line and exit status 130; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import importlib
import sys
from typing import Any

from codealign import __version__
from codealign.errors import CodealignError, CodealignWarning, Interrupted, describe_os_error

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
    "loop",
]

# Commands that write their files as they go (a run's shards and markers, which resume relies on) and read some
# back before they end; every other command's files are renamed into place together when it succeeds.
COMMITS_AS_IT_GOES = {"run", "train", "loop"}

_APP: Any = None


def build_app() -> Any:
    """The typer app with every command registered (built once, on first use, after Ctrl-C handling is set up)."""
    global _APP
    if _APP is not None:
        return _APP
    import typer

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

    for name in COMMAND_MODULES:
        importlib.import_module(f"codealign.commands.{name}").register(app)
    _APP = app
    return app


def build_command() -> Any:
    """The click command behind the app, with help that shows no value placeholder for a flag (`--no-cache`, not
    `--no-cache <bool>`) and the element type for a repeatable option. Every command gets this, new ones included."""
    import typer

    command = typer.main.get_command(build_app())

    def quiet_help(get_help_option: Any) -> Any:
        def patched(ctx: Any) -> Any:
            option = get_help_option(ctx)
            if option is not None:
                option.metavar = ""
            return option

        return patched

    def tidy(cmd: Any) -> None:
        for param in cmd.params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and descriptor.is_list and param.metavar is None:
                param.metavar = param.display_type(None).replace("<list[", "<").replace("]>", ">")
        cmd.get_help_option = quiet_help(cmd.get_help_option)
        if cmd.help:
            cmd.help = reflow(cmd.help)
        for sub in getattr(cmd, "commands", {}).values():
            tidy(sub)

    tidy(command)
    return command


def reflow(text: str) -> str:
    """A command's help as paragraphs the terminal wraps: the lines of a prose paragraph are joined (help texts are
    written at source width, and the help screen would otherwise break each line again); indented lines, lists and
    tables keep their lines."""
    paragraphs = []
    for para in text.strip().split("\n\n"):
        lines = para.splitlines()
        if any(line[:1].isspace() or line.lstrip().startswith(("- ", "* ", "|", "$ ")) for line in lines):
            paragraphs.append(para)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def __getattr__(name: str) -> Any:
    if name == "app":  # `from codealign.cli import app` keeps working; importing this module stays light
        return build_app()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """Run one command. Errors a user can fix (CodealignError, and any filesystem error on a path) are one red
    `error:` line and exit status 2; Ctrl-C is one `interrupted` line and 130; anything else is a bug."""
    import os
    import warnings

    from codealign import interrupts

    try:
        interrupts.install()  # first, so a Ctrl-C while the commands are imported is handled too
        warnings.showwarning = _show_warning
        if "COLUMNS" not in os.environ and not (_isatty(sys.stdout) or _isatty(sys.stderr)):
            # Piped or redirected: write tables at their full width instead of cutting values at 80 columns.
            os.environ["COLUMNS"] = "4000"
            os.environ.setdefault("TERMINAL_WIDTH", "100")  # but --help and usage errors stay a readable width
        from codealign.records import immediate_outputs, output_group

        args = sys.argv[1:] if argv is None else argv
        # A command's files appear together when it succeeds, and none of them when it fails; commands whose files
        # are committed as they go (for resume) and read back before they end manage that themselves.
        together = immediate_outputs() if args and args[0] in COMMITS_AS_IT_GOES else output_group()
        with together:
            build_command().main(args=argv, standalone_mode=True)
    except SystemExit as exc:
        interrupts.finishing()
        if exc.code == 130 and interrupts.interrupted():
            _interrupted("")
        raise
    except Interrupted as exc:
        interrupts.finishing()
        _interrupted(str(exc))
    except KeyboardInterrupt:
        interrupts.finishing()
        _interrupted("")
    except Exception as exc:
        interrupts.finishing()
        if interrupts.interrupted():  # an error caused by the interrupt itself (a killed child, a closed pipe)
            _interrupted("")
        if isinstance(exc, CodealignError):
            _error(str(exc))
        if isinstance(exc, OSError) and (exc.filename is not None or exc.errno == errno.ENOSPC):
            _error(describe_os_error(exc))
        raise
    interrupts.finishing()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    # Escaped: messages hold brackets such as "pip install 'codealign[hf]'" that are not markup.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(2)


def _interrupted(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    text = f"[yellow]interrupted[/]: {escape(message)}" if message else "[yellow]interrupted[/]"
    Console(stderr=True).print(text, highlight=False, soft_wrap=True)
    sys.exit(130)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: object = None,
                  line: str | None = None) -> None:
    """Our own warnings are one `warning:` line; other libraries' keep Python's format."""
    if issubclass(category, CodealignWarning):
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
        return
    import warnings

    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


if __name__ == "__main__":
    main()
