"""Shell (tree-sitter-bash): top-level functions; the doc comment is the `#` block right above; a function
"returns" a value by printing it (`echo`, `printf`) and takes arguments when it reads `$1`, `$@`, ...; commands that
delete, fetch, kill, escalate or install are the system APIs here."""

from __future__ import annotations

import re
from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of

_COMMANDS = frozenset({
    "rm", "rmdir", "mv", "dd", "mkfs", "chmod", "chown", "sudo", "su", "curl", "wget", "ssh", "scp", "rsync", "nc",
    "kill", "pkill", "killall", "shutdown", "reboot", "systemctl", "service", "apt", "apt-get", "yum", "dnf", "pip",
    "npm", "docker", "crontab", "mount", "umount", "exec", "nohup", "exit",
})  # fmt: skip
_ARGUMENT = re.compile(r"\$(?:[1-9@*#]|\{[1-9@*#])")


class ShellSyntax(TreeSitterSyntax):
    name = "shell"
    suffixes = (".sh", ".bash")
    grammar = "tree_sitter_bash"
    functions_at = frozenset({"function_definition"})
    scopes = frozenset({"function_definition"})

    def documents(self, comment: str) -> bool:
        return not comment.startswith("#!")

    def doc_ok(self, comments: list[str]) -> Verdict:
        return nonempty(comments)

    def _commands(self, func: Node) -> list[str]:
        body = func.child_by_field_name("body")
        return [text_of(n).strip() for n in (self.own_nodes(body) if body is not None else []) if n.type == "command_name"]

    def returns(self, func: Node) -> Verdict:
        return any(c in ("echo", "printf") for c in self._commands(func)) or "prints nothing"

    def arguments(self, func: Node) -> Verdict:
        body = func.child_by_field_name("body")
        return body is not None and bool(_ARGUMENT.search(text_of(body)))

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        return hit({c.rsplit("/", 1)[-1] for c in self._commands(func)}, _COMMANDS)
