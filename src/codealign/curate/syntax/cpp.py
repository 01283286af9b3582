"""C++ (tree-sitter-cpp): free functions at file level and in namespaces, templates included; the comment right
above is the doc comment (`///`, `/** */` or plain `//`: C++ has no single convention)."""

from __future__ import annotations

from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of, walk

# Process, environment, filesystem and network calls: seeds using them make tasks a sandbox cannot test.
_CALLS = frozenset({
    "system", "popen", "fork", "vfork", "execl", "execlp", "execle", "execv", "execvp", "execve", "kill", "exit",
    "_exit", "quick_exit", "getenv", "setenv", "putenv", "chdir", "remove", "rename", "unlink", "mkdir", "rmdir",
    "opendir", "fopen", "freopen", "socket", "connect", "dlopen",
})  # fmt: skip
_TYPES = frozenset({"ifstream", "ofstream", "fstream", "filesystem"})


class CppSyntax(TreeSitterSyntax):
    name = "cpp"
    suffixes = (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx")
    grammar = "tree_sitter_cpp"
    types = frozenset({"class_specifier", "struct_specifier", "enum_specifier", "union_specifier"})
    functions_at = frozenset({"function_definition"})
    containers = {"namespace_definition": "body", "linkage_specification": "body"}
    scopes = frozenset({"lambda_expression", "class_specifier", "struct_specifier"})

    def inner(self, node: Node) -> Node | None:
        if node.type == "template_declaration":
            return next((c for c in node.named_children if c.type == "function_definition"), None)
        return node if node.type in self.functions_at else None

    def _declarator(self, func: Node) -> Node | None:
        d = func.child_by_field_name("declarator")
        while d is not None and d.type != "function_declarator":
            d = d.child_by_field_name("declarator")
        return d

    def function_name(self, func: Node) -> str | None:
        d = self._declarator(func)
        target = d.child_by_field_name("declarator") if d is not None else None
        if target is None or target.type not in ("identifier", "qualified_identifier"):
            return None  # operators, destructors, conversion functions
        return text_of(target).rsplit("::", 1)[-1]

    def doc_ok(self, comments: list[str]) -> Verdict:
        return nonempty(comments)

    def returns(self, func: Node) -> Verdict:
        kind = func.child_by_field_name("type")
        pointer = func.child_by_field_name("declarator").type != "function_declarator"
        if kind is not None and text_of(kind) == "void" and not pointer:
            return "returns void"
        return any(n.type == "return_statement" and n.named_child_count > 0 for n in self.own_nodes(func))

    def arguments(self, func: Node) -> Verdict:
        d = self._declarator(func)
        params = d.child_by_field_name("parameters") if d is not None else None
        if params is None:
            return False
        real = [p for p in params.named_children if p.type.endswith("parameter_declaration")
                and text_of(p).strip() != "void"]  # fmt: skip
        return bool(real) or any(p.type == "..." for p in params.children)

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        names: set[str] = set()
        for n in walk(func):
            if n.type == "call_expression":
                target = n.child_by_field_name("function")
                if target is not None and target.type in ("identifier", "qualified_identifier"):
                    names.add(text_of(target).removeprefix("::").removeprefix("std::"))
            elif n.type in ("type_identifier", "namespace_identifier") and text_of(n) in _TYPES:
                names.add(text_of(n))
        return hit({x for x in names if x in _CALLS or x in _TYPES}, _CALLS | _TYPES)
