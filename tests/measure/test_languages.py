"""Measuring data in other languages: syntax and size through tree-sitter, execution in the language's runner,
Python-only figures (radon) left out rather than counted as failures."""

import pytest

from codealign.measure import MeasureConfig, dataset_from_rows, measure
from codealign.registry import LANGUAGES

pytest.importorskip("tree_sitter_rust", reason="the langs extra (tree-sitter grammars) is not installed")

RUST_OK = "Sum them.\n\n```rust\nfn total(xs: &[i64]) -> i64 {\n    xs.iter().sum()\n}\n```"
RUST_TESTS = "```rust\nfn main() {\n    assert_eq!(total(&[1, 2, 3]), 6);\n}\n```"
RUST_WRONG = RUST_OK.replace("xs.iter().sum()", "xs.len() as i64")
RUST_BROKEN = RUST_OK.replace("xs.iter().sum()", "xs.iter().sum(")


def test_rust_rows_are_measured_as_rust():
    rows = [{"instruction": f"Write a Rust function `total` number {i}.", "response": r, "tests": RUST_TESTS,
             "language": "rust"} for i, r in enumerate([RUST_OK, RUST_WRONG, RUST_BROKEN])]  # fmt: skip
    metrics = ["syntax", "code_size", "radon"] + (["execution"] if LANGUAGES.get("rust")().available() else [])
    result = measure(dataset_from_rows(rows, "rust"), MeasureConfig(metrics=metrics, workers=1))
    assert result.value("syntax.syntax_valid") == pytest.approx(2 / 3)  # tree-sitter, not Python's parser
    assert result.value("code_size.ast_nodes") > 5
    assert result.value("radon.cyclomatic") is None  # radon reads Python only: not applicable, not zero
    if "execution" in metrics:
        assert result.value("execution.pass_rate") == pytest.approx(1 / 3)
        assert result.results["execution"].counts["outcome"] == {"passed": 1, "failed": 1, "syntax": 1}
