"""Parsers for what a model writes at each SelfCodeAlign stage. They never raise: a failure is a ParseError with a
short reason (counted in the funnel) and the raw text (kept in the rejects).
"""

from __future__ import annotations

import re

from codealign.synth.base import ParseError

_NEXT_EXAMPLE = re.compile(r"^## Example\b.*", re.M | re.S)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_SPLIT = re.compile(r"</response>\s*<tests>")
MAX_CONCEPTS = 16
MAX_CONCEPT_CHARS = 80


def _cut_next_example(text: str) -> str:
    """A backend without stop strings runs on into the next few-shot block; nothing after it is the answer."""
    return _NEXT_EXAMPLE.split(text, maxsplit=1)[0]


def parse_concepts(text: str) -> list[str] | ParseError:
    """A comma-separated list (or a bulleted one, one concept per line) in the first paragraph of the answer."""
    body = _cut_next_example(text).strip()
    body = re.sub(r"^(?:###\s*concepts\s*:?|concepts\s*:)\s*", "", body, flags=re.I)  # a chat model may repeat the heading
    paragraph = re.split(r"\n\s*\n|^###", body, maxsplit=1, flags=re.M)[0]
    lines = [line for line in paragraph.splitlines() if line.strip()]
    items: list[str] = []
    for line in lines:
        items.extend(_BULLET.sub("", line).split(","))
    concepts: list[str] = []
    seen: set[str] = set()
    for item in items:
        concept = item.strip().rstrip(".;").strip().strip("`'\"").strip()
        key = concept.lower()
        if concept and key not in seen and len(concept) <= MAX_CONCEPT_CHARS:
            seen.add(key)
            concepts.append(concept)
    if not concepts:
        return ParseError("no_concepts", text)
    if len(concepts) > MAX_CONCEPTS:
        return ParseError("too_many_concepts", text)
    return concepts


def parse_instruction(text: str, min_words: int = 5) -> str | ParseError:
    """The task text: everything up to the next section heading or example block."""
    body = _cut_next_example(text)
    body = re.sub(r"^\s*(?:###\s*task\s*:?|task\s*:)\s*", "", body, flags=re.I)  # a chat model may repeat the heading
    body = re.split(r"^###\s|</?instruction>", body, maxsplit=1, flags=re.M)[0].strip()
    if not body:
        return ParseError("empty_instruction", text)
    if len(body.split()) < min_words:
        return ParseError("instruction_too_short", text)
    return body


def split_response(text: str) -> tuple[str, str] | ParseError:
    """(solution, tests) of a response written after `<response>`: split at exactly one `</response> <tests>`.

    Chat models may echo the opening `<response>` and write the closing `</tests>` the stop string would have cut;
    both are tolerated. A response with no split, or several, is a ParseError.
    """
    body = _cut_next_example(text)
    body = body.split("</tests>", 1)[0]
    body = re.sub(r"^\s*<response>\s*\n", "", body)
    parts = _SPLIT.split(body)
    if len(parts) == 1:
        return ParseError("no_tests_split", text)
    if len(parts) > 2:
        return ParseError("multiple_tests_splits", text)
    solution, tests = parts[0].strip(), parts[1].strip()
    if not solution:
        return ParseError("empty_response", text)
    return solution, tests
