"""Terminal output shared by commands: lines skipped in an input, shown a few at a time, counted in full."""

from __future__ import annotations

from typing import Any

SHOWN = 20  # skipped lines printed one by one; the rest are counted


class SkippedLines:
    """Prints the first `shown` skipped input lines as they are met, then only counts them; `finish()` says how
    many more there were, so a file of ten thousand bad lines costs a screen, not ten thousand lines."""

    def __init__(self, console: Any, shown: int = SHOWN) -> None:
        self.console = console
        self.shown = shown
        self.count = 0

    def __call__(self, line: Any) -> None:
        self.count += 1
        if self.count <= self.shown:
            self.console.print(f"[yellow]skipped[/] {line.path}:{line.lineno}: {line.reason}", highlight=False)

    def report(self, lines: list[Any]) -> None:
        for line in lines:
            self(line)
        self.finish()

    def finish(self) -> None:
        if self.count > self.shown:
            self.console.print(f"[yellow]skipped[/] {self.count - self.shown:,} more lines (first {self.shown} shown "
                               "above; the rejects or the summary count them all)", highlight=False)
