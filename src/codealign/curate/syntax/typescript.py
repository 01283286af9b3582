"""TypeScript (tree-sitter-typescript): as JavaScript, plus a declared `void`/`never` return type means no value."""

from __future__ import annotations

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.javascript import JavaScriptSyntax
from codealign.curate.syntax.treesitter import Node, text_of


class TypeScriptSyntax(JavaScriptSyntax):
    name = "typescript"
    suffixes = (".ts", ".mts", ".cts")
    grammar = "tree_sitter_typescript"
    types = frozenset({"class_declaration", "abstract_class_declaration", "interface_declaration", "enum_declaration", "type_alias_declaration"})
    entry = "language_typescript"

    def returns(self, func: Node) -> Verdict:
        declared = func.child_by_field_name("return_type")
        if declared is not None and text_of(declared).lstrip(": ").strip() in ("void", "never", "Promise<void>"):
            return "returns void"
        return super().returns(func)
