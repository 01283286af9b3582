"""What every tree-sitter language shares: parsing, walking to the seed functions, doc comments, line spans.

A language module subclasses `TreeSitterSyntax`, names its grammar package and node types, and answers the four
questions the seed rules ask of one function node (`doc_ok`, `returns`, `arguments`, `system`).
"""

from __future__ import annotations

import importlib
import re
import textwrap
from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any, ClassVar

from codealign.curate.syntax.base import Facts, Syntax, Unit, Verdict
from codealign.errors import MissingDependency

Node = Any  # tree_sitter.Node


@cache
def _parser(grammar: str, entry: str) -> Any:
    try:
        import tree_sitter
    except ImportError as exc:
        raise MissingDependency("tree-sitter", "langs", purpose="curating code that is not Python") from exc
    try:
        module = importlib.import_module(grammar)
    except ImportError as exc:
        raise MissingDependency(grammar.replace("_", "-"), "langs", purpose=f"its grammar ({grammar})") from exc
    return tree_sitter.Parser(tree_sitter.Language(getattr(module, entry)()))


def walk(node: Node, stop: frozenset[str] = frozenset()) -> Iterator[Node]:
    """`node` and its descendants, not entering nodes whose type is in `stop` (below `node` itself)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in reversed(current.children) if c.type not in stop)


def text_of(node: Node) -> str:
    return node.text.decode("utf-8", "replace")


def first_error(node: Node) -> Node | None:
    for n in walk(node):
        if n.type == "ERROR" or n.is_missing:
            return n
    return None


class TreeSitterSyntax(Syntax):
    grammar: ClassVar[str] = ""  # the PyPI grammar's module, e.g. "tree_sitter_cpp"
    entry: ClassVar[str] = "language"  # the function of that module that returns the language
    functions_at: ClassVar[frozenset[str]] = frozenset()  # node types that are seed functions
    containers: ClassVar[dict[str, str | None]] = {}  # node type -> field (or None: all children) to look inside
    comments: ClassVar[frozenset[str]] = frozenset({"comment"})
    between: ClassVar[frozenset[str]] = frozenset()  # may stand between a doc comment and its function (attributes)
    scopes: ClassVar[frozenset[str]] = frozenset()  # nested functions, lambdas, classes: their returns are not ours

    def parse(self, text: str) -> Node:
        return _parser(self.grammar, self.entry).parse(text.encode("utf-8")).root_node

    # -- what a language says about its nodes ---------------------------------------------------------------------

    def inner(self, node: Node) -> Node | None:
        """The function a top-level node is or holds (a template, an export, `const f = () => ...`), or None."""
        return node if node.type in self.functions_at else None

    def function_name(self, func: Node) -> str | None:
        found = func.child_by_field_name("name")
        return text_of(found) if found is not None else None

    def skip(self, func: Node, name: str) -> bool:
        """Functions that are not seeds: program entry points, tests."""
        return name == "main"

    def imports(self, root: Node) -> dict[str, str]:
        """Local name -> module for the file-level imports the system-API rule looks at."""
        return {}

    def doc_ok(self, comments: list[str]) -> Verdict:
        """The comments right above the function (in order) make a doc comment."""
        return _nonempty(comments) or "no doc comment"

    def documents(self, comment: str) -> bool:
        """Whether a comment can be part of a doc comment (a `#!` line cannot)."""
        return True

    def returns(self, func: Node) -> Verdict:
        raise NotImplementedError

    def arguments(self, func: Node) -> Verdict:
        raise NotImplementedError

    def system(self, func: Node, imports: dict[str, Any]) -> Verdict:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------------------

    def candidates(self, node: Node) -> Iterator[tuple[Node, Node]]:
        """(outer node, function node) for every seed function under `node`, in source order."""
        for child in node.named_children:
            func = self.inner(child)
            if func is not None:
                yield child, func
            elif child.type in self.containers:
                field = self.containers[child.type]
                body = child.child_by_field_name(field) if field else child
                if body is not None:
                    yield from self.candidates(body)

    def doc_comments(self, outer: Node) -> list[Node]:
        """The comment nodes right above `outer`, with no blank line between them and it."""
        found: list[Node] = []
        below = outer
        prev = outer.prev_named_sibling
        while prev is not None and (prev.type in self.comments or prev.type in self.between):
            if prev.end_point.row < below.start_point.row - 1:
                break  # a blank line: a comment about something else
            if prev.type in self.comments and not self.documents(text_of(prev)):
                break
            if prev.type in self.comments:
                found.append(prev)
            below, prev = prev, prev.prev_named_sibling
        return found[::-1]

    def own_nodes(self, func: Node) -> Iterator[Node]:
        """The function's nodes, without those of functions, lambdas or classes nested in it."""
        for child in func.children:
            yield from walk(child, self.scopes)

    def functions(self, text: str) -> list[Unit] | SyntaxError:
        root = self.parse(text)
        bad = first_error(root) if root.has_error else None
        if bad is not None:
            err = SyntaxError(f"cannot parse near {text_of(bad)[:40]!r}" if bad.type == "ERROR" else
                              f"missing {bad.type!r}")  # fmt: skip
            err.lineno = bad.start_point.row + 1
            return err
        lines = text.splitlines(keepends=True)
        imports = self.imports(root)
        units = []
        for outer, func in self.candidates(root):
            name = self.function_name(func)
            if not name or self.skip(func, name):
                continue
            docs = self.doc_comments(outer)
            first = (docs[0] if docs else outer).start_point.row
            last = outer.end_point.row
            source = textwrap.dedent("".join(lines[first : last + 1])).rstrip() + "\n"
            words = set(re.findall(r"[A-Za-z_]\w*", source))
            used = {k: v for k, v in imports.items() if k in words}
            units.append(Unit(name, source, first + 1, last + 1, used))
        return units

    def facts(self, text: str, imports: dict[str, Any] | None = None) -> Facts:
        return _facts(self, text, tuple(sorted((imports or {}).items())))

    # -- what selection asks of generated code --------------------------------------------------------------------

    types: ClassVar[frozenset[str]] = frozenset()  # top-level type definitions (classes, structs, enums, traits)

    def _type_nodes(self, node: Node) -> Iterator[Node]:
        for child in node.named_children:
            if child.type in self.types:
                yield child
            elif child.type == "type_declaration":  # Go: `type A struct {...}`, possibly grouped
                yield from (c for c in child.named_children if c.type == "type_spec")
            elif child.type in self.containers:
                field = self.containers[child.type]
                body = child.child_by_field_name(field) if field else child
                if body is not None:
                    yield from self._type_nodes(body)

    def definitions(self, code: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(function names, type names) defined at the top of `code`; None when it does not parse."""
        root = self.parse(code)
        if root.has_error:
            return None
        funcs = {self.function_name(f) for _, f in self.candidates(root)}
        kinds = set()
        for node in self._type_nodes(root):
            name = node.child_by_field_name("name")
            if name is not None:
                kinds.add(text_of(name))
        return frozenset(n for n in funcs if n), frozenset(kinds)

    def skeleton(self, code: str) -> str:
        """The top-level functions and types, comments dropped, tokens joined by single spaces."""
        root = self.parse(code)
        if root.has_error:
            return ""
        found = {*(o for o, _ in self.candidates(root)), *self._type_nodes(root)}
        # A Java method is also inside its class: keep only the outermost definitions.
        nodes = sorted((n for n in found if not any(o is not n and o.start_byte <= n.start_byte and n.end_byte <= o.end_byte
                                                    for o in found)), key=lambda n: n.start_byte)  # fmt: skip
        parts = []
        for node in nodes:
            leaves = [n for n in walk(node, self.comments) if n.child_count == 0 and n.type not in self.comments]
            parts.append(" ".join(text_of(leaf) for leaf in leaves))
        return "\n".join(parts)


@lru_cache(maxsize=256)
def _facts(lang: TreeSitterSyntax, text: str, imports: tuple[tuple[str, Any], ...]) -> Facts:
    root = lang.parse(text)
    found = next(iter(lang.candidates(root)), None)
    if found is None:
        return Facts("syntax error" if root.has_error else "no function", "no function", False, False, False)
    outer, func = found
    comments = [text_of(c) for c in lang.doc_comments(outer)]
    return Facts(
        parses="syntax error" if func.has_error else True,
        doc=lang.doc_ok(comments),
        returns=lang.returns(func),
        arguments=lang.arguments(func),
        system=lang.system(func, dict(imports)),
    )


_MARKERS = re.compile(r"^\s*(?:/\*\*?!?|\*/|\*|///?!?|//|#)", re.MULTILINE)


def _nonempty(comments: list[str]) -> bool:
    """Comments with words in them once their markers (//, /**, *, #) are stripped."""
    if not comments:
        return False
    body = _MARKERS.sub("", "\n".join(comments)).replace("*/", "")
    return bool(re.search(r"\w", body))


def nonempty(comments: list[str]) -> Verdict:
    return True if _nonempty(comments) else ("empty doc comment" if comments else "no doc comment")


def hit(names: set[str], banned: frozenset[str] | set[str]) -> Verdict:
    found = sorted(names & set(banned))
    return True if not found else f"uses {found[0]}"
