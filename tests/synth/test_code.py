"""Static checks on response code: blocks, entry points, names, skeletons, placeholders and test quality."""

import pytest

from codealign.synth.code import (
    code_blocks,
    defined_names,
    placeholder,
    skeleton,
    strip_main_guard,
)
from codealign.synth.testgate import weak_tests


def test_code_blocks_python_or_untagged_and_an_unclosed_last_block():
    text = "Intro\n```py\na = 1\n```\nthen\n```\nb = 2\n```\nand\n```python\nc = 3\n"
    assert code_blocks(text) == ["a = 1", "b = 2", "c = 3"]
    assert code_blocks("no code at all") == []


def test_shell_output_and_transcript_blocks_are_not_part_of_the_program():
    text = (
        "Install it:\n```bash\npip install numpy\n```\n```python\ndef f(x):\n    return x + 1\n```\n"
        "Usage:\n```pycon\n>>> f(1)\n2\n```\n```python\n>>> f(2)\n3\n```\nOutput:\n```text\n3\n```"
    )
    assert code_blocks(text) == ["def f(x):\n    return x + 1"]


def test_main_guard_is_removed_but_the_rest_is_kept():
    code = 'import sys\n\n\ndef main():\n    return 0\n\n\nif __name__ == "__main__":\n    sys.exit(main())\n\nX = 1\n'
    stripped = strip_main_guard(code)
    assert "sys.exit" not in stripped and "def main" in stripped and "X = 1" in stripped
    assert strip_main_guard("def broken(:\n") == "def broken(:\n"


def test_defined_names_are_normalised():
    funcs, classes = defined_names("def Read_File(p):\n    pass\n\nclass LRU_Cache:\n    pass\n")
    assert funcs == {"readfile"} and classes == {"lrucache"}
    assert defined_names("def (") is None


def test_skeleton_ignores_docstrings_and_top_level_statements():
    a = 'import math\n\ndef area(r):\n    """Area of a circle."""\n    return math.pi * r * r\n\nprint(area(2))\n'
    b = "def area(r):\n    return math.pi * r * r\n"
    assert skeleton(a) == skeleton(b) and "print" not in skeleton(a)


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("def f(x):\n    # your code here\n    return x\n", True),
        ("def f(x):\n    pass\n", True),
        ("def f(x):\n    '''Doc.'''\n    ...\n", True),
        ("class A:\n    def run(self):\n        raise NotImplementedError\n", True),
        ("def f(x):\n    return x  # TODO: handle None\n", True),
        # Legitimate stubs and ordinary words are not placeholders.
        ("class Base:\n    def run(self):\n        raise NotImplementedError\n\nclass Impl(Base):\n    def run(self):\n        return 1\n", False),
        ("from abc import ABC, abstractmethod\n\nclass S(ABC):\n    @abstractmethod\n    def area(self):\n        pass\n", False),
        ("class EmptyError(Exception):\n    pass\n", False),
        ("class TodoList:\n    def add(self, todo):\n        self.items = [todo]\n", False),
    ],
)
def test_placeholders(code, found):
    assert (placeholder(code, code) is not None) == found


SOLUTION = "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n"


@pytest.mark.parametrize(
    ("tests", "ok"),
    [
        ("s = Stack()\ns.push(1)\nassert s.items == [1]", True),
        ("def check():\n    s = Stack()\n    assert s.items == []\n\ncheck()", True),
        ("for n in [Stack(), Stack()]:\n    assert n.items == []", True),
        ("assert True", False),
        ("x = [1]\nassert x == [1]", False),
        ("s = Stack()\nassert 1 + 1 == 2", False),
        ("s = Stack()\nassert s.items == s.items", False),
        ("def test_push():\n    s = Stack()\n    assert s.items == []\n\nprint('done')", False),
        ("class Stack:\n    items = []\n\nassert Stack().items == []", False),
        (
            "import unittest\n\nclass T(unittest.TestCase):\n    def test_push(self):\n        s = Stack()\n"
            "        s.push(2)\n        self.assertEqual(s.items, [2])\n",
            True,
        ),
        ("import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        self.assertTrue(True)\n", False),
        ("import sys\ns = Stack()\nsys.exit(0)\nassert s.items == [1]", False),
    ],
)
def test_test_quality(tests, ok):
    assert (weak_tests(SOLUTION, tests) is None) == ok


def test_test_quality_follows_module_globals_computed_by_a_script():
    script = "data = sorted([3, 1, 2])\nLIMIT = 10\n"
    assert weak_tests(script, "assert data == [1, 2, 3]") is None
    assert weak_tests(script, "assert LIMIT == 10") is not None


def test_a_solution_that_exits_at_import_time_is_caught():
    exits = "import sys\n\ndef f():\n    return 1\n\nsys.exit(0)\n"
    assert weak_tests(exits, "assert f() == 2") is not None
    exits_in_function = "import sys\n\ndef f():\n    sys.exit(1)\n"
    assert weak_tests(exits_in_function, "assert f() is None") is None
