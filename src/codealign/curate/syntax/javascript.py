"""JavaScript (tree-sitter-javascript): top-level function declarations, exported or not, and `const f = (...) =>`
or `= function (...)`; the doc comment is the JSDoc (`/** ... */`) right above."""

from __future__ import annotations

import re
from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of, walk

# Node.js modules for processes, the filesystem, the OS and the network; and the `process` global.
_MODULES = frozenset({"child_process", "fs", "fs/promises", "os", "net", "http", "https", "http2", "dgram",
                      "cluster", "worker_threads", "vm", "dns", "tls", "inspector", "process"})  # fmt: skip
_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def _module(name: str) -> str:
    return name.strip("'\"`").removeprefix("node:")


class JavaScriptSyntax(TreeSitterSyntax):
    name = "javascript"
    suffixes = (".js", ".mjs", ".cjs", ".jsx")
    grammar = "tree_sitter_javascript"
    types = frozenset({"class_declaration"})
    functions_at = _FUNCTIONS
    scopes = frozenset({"function_declaration", "generator_function_declaration", "function_expression",
                        "function", "arrow_function", "method_definition", "class_declaration", "class"})  # fmt: skip

    def inner(self, node: Node) -> Node | None:
        if node.type == "export_statement":
            node = node.child_by_field_name("declaration") or node
        if node.type in _FUNCTIONS:
            return node
        if node.type in ("lexical_declaration", "variable_declaration") and node.named_child_count == 1:
            value = node.named_children[0].child_by_field_name("value")
            if value is not None and value.type in _VALUES:
                return value
        return None

    def function_name(self, func: Node) -> str | None:
        if func.type in _FUNCTIONS:
            return super().function_name(func)
        declarator = func.parent  # `const name = (...) => ...`
        found = declarator.child_by_field_name("name") if declarator is not None else None
        return text_of(found) if found is not None and found.type == "identifier" else None

    def imports(self, root: Node) -> dict[str, str]:
        out: dict[str, str] = {}
        for n in walk(root, frozenset(self.scopes)):
            if n.type == "import_statement":
                source = n.child_by_field_name("source")
                for ident in walk(n):
                    if ident.type == "identifier" and source is not None:
                        out[text_of(ident)] = _module(text_of(source))
            elif n.type == "variable_declarator":
                value = n.child_by_field_name("value")
                found = re.fullmatch(r"require\(\s*(['\"`][^'\"`]+['\"`])\s*\)(\.\w+)?", text_of(value) if value else "")
                if found:
                    for ident in walk(n.child_by_field_name("name")):
                        if ident.type in ("identifier", "shorthand_property_identifier_pattern"):
                            out[text_of(ident)] = _module(found.group(1))
        return out

    def doc_ok(self, comments: list[str]) -> Verdict:
        if not comments or not comments[-1].startswith("/**"):
            return "no JSDoc comment"
        return nonempty(comments[-1:])

    def returns(self, func: Node) -> Verdict:
        body = func.child_by_field_name("body")
        if func.type == "arrow_function" and body is not None and body.type != "statement_block":
            return True  # `(x) => x * 2`
        return body is not None and any(n.type == "return_statement" and n.named_child_count > 0
                                        for n in self.own_nodes(body))  # fmt: skip

    def arguments(self, func: Node) -> Verdict:
        params = func.child_by_field_name("parameters") or func.child_by_field_name("parameter")
        return params is not None and (params.type == "identifier" or any(
            p.type != "comment" for p in params.named_children))  # fmt: skip

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        used: set[str] = set()
        for n in walk(func):
            if n.type == "identifier":
                name = text_of(n)
                if name in imports:
                    used.add(str(imports[name]))
                elif name == "process" and n.parent is not None and n.parent.type == "member_expression":
                    used.add("process")
            elif n.type == "call_expression":
                target, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
                if target is not None and text_of(target) in ("require", "import") and args is not None:
                    used.update(_module(text_of(a)) for a in args.named_children if a.type == "string")
        return hit(used, _MODULES)
