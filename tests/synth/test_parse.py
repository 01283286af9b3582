"""Parsers of model output: what real base and chat models write, including the ways they go wrong."""

import pytest

from codealign.synth.base import ParseError
from codealign.synth.parse import parse_concepts, parse_instruction, split_response


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recursion, memoization, dictionary lookups\n", ["recursion", "memoization", "dictionary lookups"]),
        # A backend without stop strings runs on into the next example.
        ("sorting, binary search.\n\n## Example 10\n### Snippet\ndef f(): pass", ["sorting", "binary search"]),
        ("- list comprehensions\n- `zip`\n- slicing\n", ["list comprehensions", "zip", "slicing"]),
        ("1. closures\n2. decorators, functools.wraps\n", ["closures", "decorators", "functools.wraps"]),
        ("Recursion, recursion, trees", ["Recursion", "trees"]),
        ("### Concepts\nhash maps, two pointers", ["hash maps", "two pointers"]),
        ("Concepts: generators, itertools", ["generators", "itertools"]),
    ],
)
def test_concepts(text, expected):
    assert parse_concepts(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "no_concepts"), ("   \n\n", "no_concepts"), (", ".join(f"c{i}" for i in range(40)), "too_many_concepts")],
)
def test_concepts_failures_keep_the_raw_text(text, reason):
    result = parse_concepts(text)
    assert isinstance(result, ParseError) and result.reason == reason and result.raw == text


def test_instruction_stops_at_the_next_section():
    text = "Write a function `f(x)` that squares x.\nHandle negative numbers.\n\n### Properties\ncategory: class\n"
    assert parse_instruction(text) == "Write a function `f(x)` that squares x.\nHandle negative numbers."
    assert parse_instruction("  Create a class `Queue` with push and pop.\n\n## Example 9\n...") == (
        "Create a class `Queue` with push and pop."
    )
    assert parse_instruction("### Task\nImplement `merge(a, b)` for two sorted lists.\n") == (
        "Implement `merge(a, b)` for two sorted lists."
    )
    assert parse_instruction("\n\n").reason == "empty_instruction"
    assert parse_instruction("Sort it.").reason == "instruction_too_short"


RESPONSE = """Use a set to remember what was seen.

```python
def dedupe(items):
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]
```
</response>

<tests>
```python
assert dedupe([1, 2, 1, 3]) == [1, 2, 3]
```
"""


def test_response_split_as_a_base_model_writes_it():
    solution, tests = split_response(RESPONSE)
    assert solution.startswith("Use a set") and solution.endswith("```")
    assert "</response>" not in solution and "assert" not in solution
    assert tests == "```python\nassert dedupe([1, 2, 1, 3]) == [1, 2, 3]\n```"


def test_response_split_as_a_chat_model_writes_it():
    chat = "<response>\n" + RESPONSE + "</tests>\n\nLet me know if you need anything else!"
    assert split_response(chat) == split_response(RESPONSE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Here is the code:\n```python\ndef f():\n    return 1\n```\n", "no_tests_split"),
        (RESPONSE.replace("</tests>", "") + "</response>\n\n<tests>\nassert True\n", "multiple_tests_splits"),
        ("</response>\n\n<tests>\n```python\nassert f() == 1\n```", "empty_response"),
    ],
)
def test_response_split_failures(text, reason):
    result = split_response(text)
    assert isinstance(result, ParseError) and result.reason == reason and result.raw == text
