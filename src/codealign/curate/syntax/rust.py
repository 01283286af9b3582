"""Rust (tree-sitter-rust): free functions at file level and in inline modules (not `main`, not `#[test]`s, not
test modules); the doc comment is `///` or `/** */` right above (attributes may stand between); a value is
returned when the function declares a return type other than `()`."""

from __future__ import annotations

import re
from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of, walk

# Processes, the filesystem, the environment, the network, raw OS access.
_MODULES = frozenset({"std::process", "std::fs", "std::env", "std::net", "std::os", "std::ffi", "libc"})


class RustSyntax(TreeSitterSyntax):
    name = "rust"
    suffixes = (".rs",)
    grammar = "tree_sitter_rust"
    types = frozenset({"struct_item", "enum_item", "trait_item", "union_item", "type_item"})
    functions_at = frozenset({"function_item"})
    containers = {"mod_item": "body"}
    comments = frozenset({"line_comment", "block_comment"})
    between = frozenset({"attribute_item"})
    scopes = frozenset({"closure_expression", "function_item"})

    def candidates(self, node: Node):
        for outer, func in super().candidates(node):
            if not _in_test_module(outer) and not _has_test_attribute(outer):
                yield outer, func

    def imports(self, root: Node) -> dict[str, str]:
        out: dict[str, str] = {}
        for n in root.named_children:
            if n.type == "use_declaration":
                for path, alias in _use_paths(text_of(n)):
                    out[alias] = path
        return out

    def doc_ok(self, comments: list[str]) -> Verdict:
        docs = [c for c in comments if (c.startswith("///") and not c.startswith("////")) or c.startswith("/**")]
        return nonempty(docs) if docs else "no doc comment"

    def returns(self, func: Node) -> Verdict:
        kind = func.child_by_field_name("return_type")
        return kind is not None and text_of(kind).replace(" ", "") not in ("()", "!")

    def arguments(self, func: Node) -> Verdict:
        params = func.child_by_field_name("parameters")
        return params is not None and any(p.type in ("parameter", "variadic_parameter") for p in params.named_children)

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        used: set[str] = set()
        for n in walk(func):
            if n.type in ("scoped_identifier", "scoped_type_identifier"):
                path = text_of(n).replace(" ", "")
                head = path.split("::", 1)[0]
                full = f"{imports[head]}{path[len(head):]}" if head in imports else path
                used.update(m for m in _MODULES if full == m or full.startswith(m + "::"))
            elif n.type in ("identifier", "type_identifier") and text_of(n) in imports:
                full = str(imports[text_of(n)])
                used.update(m for m in _MODULES if full == m or full.startswith(m + "::"))
        return hit(used, _MODULES)


def _use_paths(text: str) -> list[tuple[str, str]]:
    """(`std::fs::File`, `File`) for each name a `use` declaration binds; groups expanded one level."""
    body = " ".join(text.split()).removeprefix("pub ").removeprefix("use ").rstrip(";").strip()
    body = re.sub(r"\s*::\s*", "::", body)
    group = re.fullmatch(r"(.*)::\{(.*)\}", body)
    items = [f"{group.group(1)}::{i.strip()}" for i in group.group(2).split(",") if i.strip()] if group else [body]
    out = []
    for item in items:
        path, alias = item, ""
        found = re.fullmatch(r"(.*?)\s+as\s+(\w+)", item)
        if found:
            path, alias = found.group(1), found.group(2)
        path = path.removesuffix("::self")
        alias = alias or path.rsplit("::", 1)[-1]
        if alias != "*":
            out.append((path, alias))
    return out


def _has_test_attribute(node: Node) -> bool:
    prev = node.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        if prev.type == "attribute_item" and re.search(r"\b(test|bench)\b", text_of(prev)):
            return True
        prev = prev.prev_named_sibling
    return False


def _in_test_module(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "mod_item":
            prev = parent.prev_named_sibling
            if prev is not None and prev.type == "attribute_item" and "cfg(test)" in text_of(prev).replace(" ", ""):
                return True
            name = parent.child_by_field_name("name")
            if name is not None and text_of(name) == "tests":
                return True
        parent = parent.parent
    return False
