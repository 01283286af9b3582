"""From a model's text to a program: the cut after a completion's function, and the program inside a chat answer.

Chat answers come in every shape: prose around one fenced solution, a solution then a usage example in a second
fence, an unfenced script, a reasoning block before the answer, a fence cut off by the token limit. For Python the
program is the fenced block (else the longest run of lines that parses) that defines the entry point, reduced to
its imports and the definitions and assignments the entry point reaches: no prose, no example calls, no prints, no
`if __name__ == "__main__"` block. Other languages get the fenced block that names the entry point.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_PY_TAGS = {"", "python", "py", "python3", "py3", "pycon"}
_MAX_SCAN_LINES = 400


# --- completion mode ---------------------------------------------------------------------------------------------


def cut_after_function(prompt: str, text: str, language: str = "python", entry_point: str = "") -> str:
    """`text` up to the first top-level line after the function, where prompt + text still parses (and defines
    `entry_point`, when given: an MBPP-style prompt has no function yet, the completion writes it).

    Stop sequences usually end a completion; this catches what slips past them (a test block, a second function, a
    stray print). Other languages are returned as they are: their stop sequences do the cutting.
    """
    if language not in ("python", "py"):
        return text
    lines = text.splitlines(keepends=True)
    offsets, pos = [], 0
    for i, line in enumerate(lines):
        continues_prompt = i == 0 and not prompt.endswith("\n") and prompt != ""
        if not continues_prompt and line.strip() and not line[0].isspace():
            offsets.append(pos)
        pos += len(line)
    if not offsets:
        return text
    for offset in offsets:
        head = prompt + text[:offset]
        if _parses(head) and (not entry_point or _defines(head, entry_point)):
            return text[:offset]
    # Nothing parses (the function itself is broken): still cut where the function seems to end.
    for offset in offsets:
        if offset and (not entry_point or re.search(rf"\bdef\s+{re.escape(entry_point)}\b", prompt + text[:offset])):
            return text[:offset]
    return text


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


# --- chat mode ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    tag: str
    code: str


def fenced_blocks(text: str) -> list[Block]:
    """Markdown code blocks in order; a block left open at the end of the text (token limit) counts."""
    return [Block(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]


def strip_reasoning(text: str) -> str:
    """The answer after a reasoning block (`<think>...</think>`), or the text unchanged."""
    for close in ("</think>", "</thinking>", "</reasoning>"):
        if close in text:
            return text.rsplit(close, 1)[1]
    return text


def extract_program(text: str, entry_point: str = "", language: str = "python") -> str:
    """The program a chat answer gives for `entry_point` (empty when the answer holds no code at all)."""
    text = strip_reasoning(text).replace("\r\n", "\n")
    if language not in ("python", "py"):
        return _extract_other(text, entry_point, language)
    blocks = [b.code for b in fenced_blocks(text) if b.tag in _PY_TAGS]
    best = ""
    candidates: list[str] = []
    for block in blocks:
        code = block if _parses(block) else longest_parseable(block)
        if code.strip():
            candidates.append(code)
    defining = [c for c in candidates if entry_point and _defines(c, entry_point)]
    if defining:
        best = max(defining, key=_code_lines)
    else:
        whole = longest_parseable(text)
        if entry_point and _defines(whole, entry_point):
            best = whole
        elif candidates:
            best = max(candidates, key=_code_lines)
        else:
            best = whole
    return sanitize(best, entry_point) if best.strip() else ""


def _extract_other(text: str, entry_point: str, language: str) -> str:
    blocks = fenced_blocks(text)
    if not blocks:
        return text.strip() + "\n" if text.strip() else ""
    aliases = {language, {"javascript": "js", "typescript": "ts", "cpp": "c++", "shell": "bash"}.get(language, "")}
    tagged = [b for b in blocks if b.tag in aliases] or blocks
    naming = [b for b in tagged if entry_point and re.search(rf"\b{re.escape(entry_point)}\b", b.code)]
    return max(naming or tagged, key=lambda b: len(b.code)).code


def _code_lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip())


def longest_parseable(text: str) -> str:
    """The longest run of consecutive lines that parses as Python, by count of non-blank lines."""
    lines = text.splitlines(keepends=True)[:_MAX_SCAN_LINES]
    weights = [1 if line.strip() else 0 for line in lines]
    best, best_weight = "", 0
    for start in range(len(lines)):
        if not weights[start] or lines[start][0].isspace():
            continue  # a run starts at a top-level line
        if sum(weights[start:]) <= best_weight:
            break
        for end in range(len(lines), start, -1):
            weight = sum(weights[start:end])
            if weight <= best_weight:
                break
            chunk = "".join(lines[start:end])
            if _parses(chunk):
                best, best_weight = chunk, weight
                break
    return best


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
               for n in tree.body)  # fmt: skip


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def sanitize(code: str, entry_point: str = "") -> str:
    """Keep imports, and the definitions and assignments `entry_point` reaches (all of them without an entry point);
    drop top-level calls, prints, asserts, loops and `if __name__ == "__main__"` blocks."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return code
    keepable = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                ast.AnnAssign, ast.AugAssign)  # fmt: skip
    nodes = [n for n in tree.body if isinstance(n, keepable)]
    defs: dict[str, list[ast.stmt]] = {}
    for node in nodes:
        for name in _bound_names(node):
            defs.setdefault(name, []).append(node)
    keep: set[int] = {id(n) for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))}
    if entry_point and entry_point in defs:
        todo = [entry_point]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for node in defs.get(name, ()):
                keep.add(id(node))
                todo.extend(_used_names(node) - seen)
    else:
        keep.update(id(n) for n in nodes)
    lines = code.splitlines(keepends=True)
    parts = []
    for node in tree.body:
        if id(node) in keep:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append("".join(lines[start - 1 : node.end_lineno]).rstrip() + "\n")
    return "\n".join(parts) if parts else code


def prompt_context(prompt: str, entry_point: str, language: str = "python") -> str:
    """The prompt's imports and helper definitions (everything but the entry point's own stub), for chat mode."""
    if language not in ("python", "py") or not prompt.strip():
        return ""
    source = prompt if prompt.endswith("\n") else prompt + "\n"
    tree = None
    for attempt in (source, source + "    pass\n", source + "    ...\n"):
        try:
            tree = ast.parse(attempt)
            source = attempt
            break
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
    if tree is None:
        imports = [ln for ln in prompt.splitlines() if re.match(r"(import|from)\s+\w", ln)]
        return "".join(ln + "\n" for ln in imports)
    lines = source.splitlines(keepends=True)
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)) and
            entry_point not in _bound_names(node)
        ):  # fmt: skip
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append("".join(lines[start - 1 : node.end_lineno]).rstrip() + "\n")
    return "\n".join(parts)
