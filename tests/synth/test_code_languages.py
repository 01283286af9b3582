"""Reading responses written in other languages: which fenced blocks are code, the format checks, and what selection
compares (defined names, skeletons, whether the tests name the solution)."""

import pytest

from codealign.records import Record
from codealign.sandbox.types import Outcome, Status
from codealign.select import SelectionOptions, gates, select
from codealign.synth import code

RUST = "Sum with an iterator.\n\n```rust\nfn total(xs: &[i64]) -> i64 {\n    xs.iter().sum()\n}\n```\n"
RUST_TESTS = "```rust\nfn main() {\n    assert_eq!(total(&[1, 2, 3]), 6);\n}\n```"
GO = "```go\npackage main\n\nfunc Total(xs []int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n```"
GO_TESTS = '```go\nfunc main() {\n\tif Total([]int{1, 2}) != 3 {\n\t\tpanic("wrong")\n\t}\n}\n```'


def sample(language: str, solution: str, tests: str) -> Record:
    return Record("sample", {"language": language, "solution": solution, "tests": tests, "response": solution})


def test_blocks_of_the_samples_language_and_untagged_ones():
    text = "```python\nprint(1)\n```\n```rs\nfn a() {}\n```\n```\nfn b() {}\n```\n```c++\nint c();\n```"
    assert code.code_blocks(text, "rust") == ["fn a() {}", "fn b() {}"]
    assert code.code_blocks(text, "cpp") == ["fn b() {}", "int c();"]
    assert code.code_blocks(text) == ["print(1)", "fn b() {}"]  # Python, as always
    assert code.program_parts(RUST, RUST_TESTS, "rust") == (
        "fn total(xs: &[i64]) -> i64 {\n    xs.iter().sum()\n}", "fn main() {\n    assert_eq!(total(&[1, 2, 3]), 6);\n}")


@pytest.mark.parametrize(("solution", "tests", "reason"), [
    (RUST, RUST_TESTS, None),
    (GO, GO_TESTS, None),
    (RUST.replace("xs.iter().sum()", "todo!()"), RUST_TESTS, "format:placeholder"),
    (RUST, "```rust\nfn main() { println!(\"{}\", total(&[1])); }\n```", "format:no_assert"),
    ("```python\ndef total(xs):\n    return sum(xs)\n```", RUST_TESTS, "format:no_code"),
    (RUST, "", "format:no_tests"),
])  # fmt: skip
def test_format_checks_in_the_samples_language(solution, tests, reason):
    language = "go" if "package main" in solution else "rust"
    assert code.format_reason({"language": language, "solution": solution, "tests": tests}) == reason


def test_names_skeletons_and_the_tests_naming_the_solution():
    pytest.importorskip("tree_sitter_rust")
    pytest.importorskip("tree_sitter_go")
    rust_code, _ = code.program_parts(RUST, RUST_TESTS, "rust")
    assert code.defined_names(rust_code, "rust") == (frozenset({"total"}), frozenset())
    assert code.skeleton(rust_code, "rust") == "fn total ( xs : & [ i64 ] ) -> i64 { xs . iter ( ) . sum ( ) }"
    go_code, _ = code.program_parts(GO, GO_TESTS, "go")
    assert code.defined_names(go_code, "go") == (frozenset({"total"}), frozenset())
    assert code.defined_names("fn broken( {", "rust") is None
    assert gates.test_quality_reason(sample("rust", RUST, RUST_TESTS), None) is None
    unused = "```rust\nfn main() {\n    assert_eq!(1 + 2, 3);\n}\n```"
    assert gates.test_quality_reason(sample("rust", RUST, unused), None) == "solution_unused"


def test_selection_keeps_one_rust_program_per_name_set():
    pytest.importorskip("tree_sitter_rust")
    items = []
    for i, body in enumerate(["xs.iter().sum()", "xs.iter().fold(0, |a, b| a + b)"]):
        instruction = Record("instruction", {"instruction": f"Write a Rust function total number {i} of a slice.",
                                             "language": "rust"})  # fmt: skip
        solution = RUST.replace("xs.iter().sum()", body)
        s = Record("sample", {"language": "rust", "solution": solution, "tests": RUST_TESTS, "response": solution},
                   parents=(instruction.id,))  # fmt: skip
        items.append((instruction, s, Outcome(id=s.id, status=Status.PASSED)))
    chosen = select(items, SelectionOptions(decontaminate=False, dedup_threshold=None))
    assert len(chosen.kept) == 1 and chosen.counts["diversity"]["by_reason"] == {"duplicate_names": 1}
