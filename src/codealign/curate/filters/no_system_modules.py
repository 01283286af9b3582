from __future__ import annotations

from codealign.curate.filters.base import Filter, Verdict, facts
from codealign.records import Record


class NoSystemModules(Filter):
    """No process-, filesystem-, environment- or network-level API: for Python the modules os, sys, subprocess,
    shutil, argparse, setuptools, distutils and plotting; for the other languages their equivalents (see each
    language's module in `codealign.curate.syntax`)."""

    name = "no_system_modules"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        return facts(record).system
