import textwrap

import pytest

from codealign.curate.decontam import Decontaminator, DecontamReport
from codealign.evaluate.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def decon():
    return Decontaminator(("humaneval",), ngram=10)


@pytest.fixture(scope="module")
def humaneval():
    return {p["task_id"]: p for p in load_benchmark("humaneval")}


def test_planted_prompt_is_found_by_substring(decon, humaneval, stdlib_texts):
    problem = humaneval["HumanEval/0"]
    text = stdlib_texts[7] + "\n\n" + problem["prompt"] + problem["canonical_solution"]
    matches = decon.find(text)
    assert {(m.benchmark, m.task_id, m.kind) for m in matches} >= {
        ("humaneval", "HumanEval/0", "substring"),
        ("humaneval", "HumanEval/0", "ngram"),
    }


def test_reindented_solution_still_matches(decon, humaneval):
    problem = humaneval["HumanEval/12"]
    body = textwrap.indent(textwrap.dedent(problem["canonical_solution"]), "\t\t")
    text = "class Helper:\n\tdef pick(self, strings):\n" + body
    assert any(m.task_id == "HumanEval/12" and m.kind == "substring" for m in decon.find(text))


def test_renamed_copy_is_caught_by_ngrams(decon, humaneval):
    problem = humaneval["HumanEval/2"]
    renamed = (problem["prompt"] + problem["canonical_solution"]).replace("truncate_number", "frac_part")
    renamed = renamed.replace("    ", "  ")
    matches = [m for m in decon.find(renamed) if m.task_id == "HumanEval/2"]
    assert matches
    assert all(m.snippet for m in matches)


def test_real_code_is_clean(decon, stdlib_texts):
    report = DecontamReport()
    hits = [m for m in decon.find_many(stdlib_texts, report) if m]
    assert hits == []
    assert report.checked == len(stdlib_texts) and report.contaminated == 0


def test_report_counts_per_benchmark(decon, humaneval):
    report = DecontamReport()
    texts = ["def f(x):\n    return x\n", humaneval["HumanEval/0"]["prompt"], humaneval["HumanEval/3"]["prompt"]]
    list(decon.find_many(texts, report))
    data = report.to_dict()
    assert data["checked"] == 3 and data["contaminated"] == 2
    assert set(data["benchmarks"]["humaneval"]["tasks"]) == {"HumanEval/0", "HumanEval/3"}
