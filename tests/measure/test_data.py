"""How records are read: code found in responses, fields found by name or dotted path."""

from codealign.measure import FieldMap, dataset_from_rows
from codealign.measure.data import extract_code


def test_code_is_the_fenced_python_of_a_markdown_response():
    response = "Use a loop.\n\n```python\ndef f(x):\n    return x\n```\n\nRun it:\n```bash\npython f.py\n```\n```\nprint(f(1))\n```"
    assert extract_code(response) == "def f(x):\n    return x\n\nprint(f(1))"


def test_code_with_a_fenced_example_in_its_docstring_is_kept_whole():
    code = 'def f(x):\n    """Double x.\n\n    ```python\n    f(2)\n    ```\n    """\n    return 2 * x\n'
    assert extract_code(code) == code
    assert extract_code("def g():\n    return 1\n") == "def g():\n    return 1\n"


def test_fenced_tests_are_unwrapped():
    ds = dataset_from_rows([{"instruction": "i", "response": "r", "tests": "```python\nassert f(1) == 2\n```"}])
    assert ds.items[0].tests == "assert f(1) == 2"


def test_fields_by_dotted_path_and_inside_record_data():
    rows = [
        {"kind": "sft", "data": {"instruction": "Add.", "response": "x = 1", "lineage": {"concepts": "loops, Recursion"}}},
        {"q": {"text": "Sub."}, "a": "y = 2"},
    ]
    ds = dataset_from_rows(rows[:1])
    assert ds.items[0].instruction == "Add." and ds.items[0].concepts == ("loops", "recursion")
    assert ds.fields["concepts"] == "lineage.concepts"
    ds = dataset_from_rows(rows[1:], fields=FieldMap(instruction="q.text", response="a"))
    assert (ds.items[0].instruction, ds.items[0].code) == ("Sub.", "y = 2")
    assert ds.fields["tests"] is None
