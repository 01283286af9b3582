from __future__ import annotations

import ast

from codealign.curate.filters.base import Filter, Verdict, parse_function
from codealign.records import Record

# process- and filesystem-level modules and plotting: seeds using them make tasks that cannot run in a sandbox
BANNED = frozenset(
    {"os", "sys", "subprocess", "shutil", "argparse", "setuptools", "distutils", "matplotlib", "seaborn", "pylab"}
)


def _root(module: str) -> str:
    return module.split(".", 1)[0]


class NoSystemModules(Filter):
    """The function uses none of BANNED: names it refers to that module-level imports bind, or imports inside it."""

    name = "no_system_modules"
    applies_to = ("function",)

    def keep(self, record: Record) -> Verdict:
        node = parse_function(record)
        if node is None:
            return False
        used: set[str] = set()
        for name, module in (record.data.get("imports") or {}).items():
            used.add(_root(module))
            used.add(name)
        for n in ast.walk(node):
            if isinstance(n, ast.Import):
                used.update(_root(a.name) for a in n.names)
            elif isinstance(n, ast.ImportFrom) and n.module:
                used.add(_root(n.module))
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in BANNED:
                used.add(n.value.id)  # `os.path.join(...)` with `os` imported where we cannot see it
        hit = sorted(used & BANNED)
        return True if not hit else f"uses {hit[0]}"
