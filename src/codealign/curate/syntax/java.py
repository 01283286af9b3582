"""Java (tree-sitter-java): the methods of top-level classes, interfaces, enums and records (not constructors, not
`main`, not abstract ones); the doc comment is the Javadoc (`/** ... */`) right above."""

from __future__ import annotations

from typing import Any

from codealign.curate.syntax.base import Verdict
from codealign.curate.syntax.treesitter import Node, TreeSitterSyntax, hit, nonempty, text_of, walk

# Processes, the filesystem, the environment, the network, exiting the JVM.
_TYPES = frozenset({
    "ProcessBuilder", "Process", "Runtime", "File", "FileReader", "FileWriter", "FileInputStream",
    "FileOutputStream", "RandomAccessFile", "Files", "Paths", "Socket", "ServerSocket", "DatagramSocket", "URL",
    "URLConnection", "HttpURLConnection", "HttpClient",
})  # fmt: skip
_SYSTEM_CALLS = frozenset({"exit", "getenv", "load", "loadLibrary", "setSecurityManager", "setOut", "setErr"})


class JavaSyntax(TreeSitterSyntax):
    name = "java"
    suffixes = (".java",)
    grammar = "tree_sitter_java"
    types = frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"})
    functions_at = frozenset({"method_declaration"})
    containers = {"class_declaration": "body", "interface_declaration": "body", "enum_declaration": "body",
                  "record_declaration": "body"}  # fmt: skip
    comments = frozenset({"block_comment", "line_comment"})
    scopes = frozenset({"lambda_expression", "class_body", "class_declaration"})

    def candidates(self, node: Node):
        """Methods on their own (as a seed is) and the methods of top-level types, not of nested ones."""
        for child in node.named_children:
            if child.type == "method_declaration":
                yield child, child
            elif child.type in self.containers:
                body = child.child_by_field_name("body")
                members = body.named_children if body is not None else []
                for member in members:
                    if member.type == "enum_body_declarations":
                        members.extend(member.named_children)
                    elif member.type == "method_declaration":
                        yield member, member

    def skip(self, func: Node, name: str) -> bool:
        return name == "main" or func.child_by_field_name("body") is None

    def doc_ok(self, comments: list[str]) -> Verdict:
        if not comments or not comments[-1].startswith("/**"):
            return "no Javadoc comment"
        return nonempty(comments[-1:])

    def returns(self, func: Node) -> Verdict:
        kind = func.child_by_field_name("type")
        if kind is not None and kind.type == "void_type":
            return "returns void"
        body = func.child_by_field_name("body")
        return any(n.type == "return_statement" and n.named_child_count > 0 for n in self.own_nodes(body))

    def arguments(self, func: Node) -> Verdict:
        params = func.child_by_field_name("parameters")
        return params is not None and any(p.type in ("formal_parameter", "spread_parameter")
                                          for p in params.named_children)  # fmt: skip

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        names: set[str] = set()
        for n in walk(func):
            if n.type in ("type_identifier", "identifier") and text_of(n) in _TYPES:
                names.add(text_of(n))
            elif n.type == "method_invocation":
                obj, method = n.child_by_field_name("object"), n.child_by_field_name("name")
                if obj is not None and text_of(obj) == "System" and method is not None and text_of(method) in _SYSTEM_CALLS:
                    names.add(f"System.{text_of(method)}")
        return hit(names, _TYPES | {f"System.{c}" for c in _SYSTEM_CALLS})
