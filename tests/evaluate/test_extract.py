"""Programs from model text: the cut after a completion's function, and extraction from chat answers of every shape."""

from __future__ import annotations

import ast

from codealign.evaluate.extract import cut_after_function, extract_program, prompt_context

PROMPT = 'import math\n\n\ndef area(r):\n    """Area of a circle of radius r."""\n'


def defs(code):
    return [n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_completion_is_cut_where_the_function_ends():
    text = "    return math.pi * r * r\n\n\nprint(area(2))\nassert area(1) > 3\n"
    assert cut_after_function(PROMPT, text, "python", "area") == "    return math.pi * r * r\n\n\n"
    # A line at column 0 inside a string is not the end of the function.
    text = '    s = """\nnot code\n"""\n    return len(s) * r\nx = 1\n'
    assert cut_after_function(PROMPT, text, "python", "area") == '    s = """\nnot code\n"""\n    return len(s) * r\n'
    assert cut_after_function(PROMPT, "    return 1\n", "python", "area") == "    return 1\n"
    assert cut_after_function("int f() {\n", "  return 1;\n}\nint main() {}\n", "cpp") == "  return 1;\n}\nint main() {}\n"


def test_chat_answer_with_prose_solution_and_usage_example():
    answer = (
        "Sure! First a helper, then the function.\n\n```python\nimport math\n\nTAU = 2 * math.pi\n\n"
        "def half(x):\n    return x / 2\n\ndef area(r):\n    return half(TAU) * r * r\n\ndef unused():\n    return 0\n\n"
        "print(area(1))\nif __name__ == '__main__':\n    area(3)\n```\n\nUsage:\n\n```python\n>>> area(1)\n"
        "3.14159\n```\n\n```python\nfor r in range(3):\n    print(area(r))\n```\n"
    )
    program = extract_program(answer, "area")
    assert defs(program) == ["half", "area"]
    assert "import math" in program and "TAU = 2 * math.pi" in program
    assert "print(" not in program and "__main__" not in program and "unused" not in program


def test_chat_answer_shapes():
    body = "def area(r):\n    return 3.14159 * r * r\n"
    # No fence at all: the longest run of lines that parses.
    assert defs(extract_program(f"The answer is\n\n{body}\nwhich multiplies.", "area")) == ["area"]
    # A reasoning block with a draft before the answer.
    text = f"<think>\n```python\ndef area(r):\n    return 0\n```\n</think>\nFinal:\n```python\n{body}```"
    assert "3.14159" in extract_program(text, "area")
    # A fence left open by the token limit.
    assert defs(extract_program(f"Here:\n```python\n{body}", "area")) == ["area"]
    # Two solutions: the longer one that defines the entry point.
    text = f"```python\n{body}```\nOr with checks:\n```python\ndef area(r):\n    if r < 0:\n        raise ValueError\n" \
           f"    return 3.14159 * r * r\n```\n"  # fmt: skip
    assert "ValueError" in extract_program(text, "area")
    # A block with a broken line keeps what parses.
    text = f"```python\n{body}\nthis line is prose that slipped in\n```"
    assert defs(extract_program(text, "area")) == ["area"]
    assert extract_program("I cannot help with that.", "area") == ""


def test_other_languages_take_the_fenced_block_naming_the_entry_point():
    text = "Example:\n```js\nconsole.log(1)\n```\nSolution:\n```javascript\nfunction inc(x) {\n  return x + 1;\n}\n```"
    assert extract_program(text, "inc", "javascript") == "function inc(x) {\n  return x + 1;\n}\n"


def test_prompt_context_keeps_imports_and_helpers_but_not_the_stub():
    prompt = 'from typing import List\n\n\ndef helper(x):\n    return x\n\n\ndef main(xs: List[int]):\n    """Doc."""\n'
    context = prompt_context(prompt, "main")
    assert defs(context) == ["helper"] and "from typing import List" in context
