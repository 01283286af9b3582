"""Go (tree-sitter-go): top-level functions (not methods, `main`, `init` or tests); the doc comment is the `//`
block right above, as godoc reads it; a value is returned when the function declares results."""

from __future__ import annotations

from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of, walk

# Processes, signals, the filesystem, the environment, the network, flags.
_PACKAGES = frozenset({"os", "os/exec", "os/signal", "os/user", "syscall", "io/ioutil", "io/fs", "net", "net/http",
                       "net/rpc", "net/smtp", "path/filepath", "flag", "plugin", "unsafe"})  # fmt: skip


class GoSyntax(TreeSitterSyntax):
    name = "go"
    suffixes = (".go",)
    grammar = "tree_sitter_go"
    types = frozenset()
    functions_at = frozenset({"function_declaration"})
    scopes = frozenset({"func_literal"})

    def skip(self, func: Node, name: str) -> bool:
        return name in ("main", "init") or name.startswith(("Test", "Benchmark", "Fuzz", "Example"))

    def imports(self, root: Node) -> dict[str, str]:
        out: dict[str, str] = {}
        for n in walk(root):
            if n.type == "import_spec":
                path = text_of(n.child_by_field_name("path")).strip('"`')
                alias = n.child_by_field_name("name")
                out[text_of(alias) if alias is not None else path.rsplit("/", 1)[-1]] = path
        return out

    def doc_ok(self, comments: list[str]) -> Verdict:
        return nonempty([c for c in comments if c.startswith("//")])

    def returns(self, func: Node) -> Verdict:
        return func.child_by_field_name("result") is not None

    def arguments(self, func: Node) -> Verdict:
        params = func.child_by_field_name("parameters")
        return params is not None and params.named_child_count > 0

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        used = set()
        for n in walk(func):
            if n.type == "selector_expression":
                operand = n.child_by_field_name("operand")
                if operand is not None and operand.type == "identifier":
                    name = text_of(operand)
                    used.add(str(imports.get(name, name if name in ("os", "syscall", "exec") else "")))
        return hit(used, _PACKAGES)
