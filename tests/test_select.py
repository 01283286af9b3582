"""Selection on realistic model responses, executed for real in the sandbox."""

import pytest

from codealign.evaluate.benchmarks import load_benchmark
from codealign.records import Record
from codealign.sandbox import Limits, Outcome, Sandbox, Status
from codealign.select import SelectionOptions, format_reason, select
from codealign.synth.base import ParseError
from codealign.synth.selfcodealign import SelfCodeAlign

FENCE = "```"


def block(code: str) -> str:
    return f"{FENCE}python\n{code.strip()}\n{FENCE}"


def answer(explanation: str, code: str | None, tests: str) -> str:
    """A response as the model writes it after `<response>`, ending where the `</tests>` stop cuts it."""
    body = explanation if code is None else f"{explanation}\n\n{block(code)}"
    return f"{body}\n</response>\n\n<tests>\n{tests}\n"


RUNNING_MAX = "Write a Python function `running_max(values)` that returns a list whose element i is the largest of `values[0..i]`. An empty list gives an empty list."
RUNNING_MAX_TESTS = block("""
assert running_max([1, 3, 2, 5, 4]) == [1, 3, 3, 5, 5]
assert running_max([]) == []
assert running_max([-2, -5]) == [-2, -2]
""")
PALINDROME = "Write a Python function `is_palindrome(text)` that tells whether `text` reads the same backwards, ignoring case and every character that is not a letter or a digit."
PALINDROME_CODE = """
def is_palindrome(text):
    chars = [c.lower() for c in text if c.isalnum()]
    return chars == chars[::-1]
"""
WORD_LENGTHS = "Write a Python function `word_lengths(sentence)` that maps each distinct word of a sentence (split on whitespace) to its length."
TEMPERATURES = "Implement `running_max(values)` for a stream of daily temperature readings: for every day return the highest temperature seen so far, as a list of the same length as the input."
COUNT_WORDS = "Write a Python function `count_words(text)` that returns the number of whitespace-separated words in the given text string. Leading and trailing whitespace must be ignored and an empty string has zero words."
MEAN_LONG = "Write a Python function `mean_of(values)` that returns the arithmetic mean of a list of numbers. " + " ".join(
    f"Requirement {i}: the function must also behave sensibly for input shape number {i}." for i in range(25)
)


def build_items():
    """(label, instruction text, category, response text) for every sample; labels say what each one is."""
    humaneval = load_benchmark("humaneval")[0]
    contaminated = "Complete the following Python function.\n\n" + humaneval["prompt"]
    return [
        ("A0 correct", RUNNING_MAX, "function", answer(
            "Keep the best value so far while walking the list.",
            """
def running_max(values):
    result = []
    best = None
    for v in values:
        best = v if best is None or v > best else best
        result.append(best)
    return result
""", RUNNING_MAX_TESTS)),
        ("A1 wrong", RUNNING_MAX, "function", answer(
            "Take the maximum of every prefix.",
            "def running_max(values):\n    return [max(values[:i]) for i in range(1, len(values))]",
            RUNNING_MAX_TESTS)),
        ("A2 placeholder", RUNNING_MAX, "function", answer(
            "Here is a skeleton to complete.", "def running_max(values):\n    # your code here\n    pass", RUNNING_MAX_TESTS)),
        ("A3 correct", RUNNING_MAX, "function", answer(
            "`itertools.accumulate` with `max` computes prefix maxima directly.",
            "from itertools import accumulate\n\n\ndef running_max(values):\n    return list(accumulate(values, max))",
            RUNNING_MAX_TESTS)),
        ("A4 loops forever", RUNNING_MAX, "function", answer(
            "Walk the list with an index.",
            """
def running_max(values):
    result, i = [], 0
    while i < len(values):
        result.append(max(values[: i + 1]))
    return result
""", RUNNING_MAX_TESTS)),
        ("B0 assert True", PALINDROME, "function", answer(
            "Compare the cleaned characters with their reverse.", PALINDROME_CODE,
            block('assert True\nassert "abba" == "abba"[::-1]'))),
        ("B1 tests redefine", PALINDROME, "function", answer(
            "Compare the cleaned characters with their reverse.", PALINDROME_CODE,
            block('def is_palindrome(t):\n    return t == t[::-1]\n\n\nassert is_palindrome("aba")'))),
        ("B2 tests never called", PALINDROME, "function", answer(
            "Compare the cleaned characters with their reverse.", PALINDROME_CODE,
            block('def test_palindrome():\n    assert is_palindrome("A man, a plan, a canal: Panama")'))),
        ("C0 no code", WORD_LENGTHS, "function", answer(
            "Split the sentence and build a dict comprehension of word to len(word).", None,
            block('assert word_lengths("a bb") == {"a": 1, "bb": 2}'))),
        ("C1 no assert", WORD_LENGTHS, "function", answer(
            "A dict comprehension does it.", "def word_lengths(sentence):\n    return {w: len(w) for w in sentence.split()}",
            block('print(word_lengths("a bb"))'))),
        ("C2 correct", WORD_LENGTHS, "function", answer(
            "A dict comprehension over the split words does it.",
            "def word_lengths(sentence):\n    return {w: len(w) for w in sentence.split()}",
            block('assert word_lengths("a bb a") == {"a": 1, "bb": 2}\nassert word_lengths("") == {}'))),
        ("D0 correct", TEMPERATURES, "function", answer(
            "Track the highest reading so far.",
            """
def running_max(values):
    out = []
    for reading in values:
        out.append(reading if not out else max(out[-1], reading))
    return out
""", block("assert running_max([12, 15, 11, 17]) == [12, 15, 15, 17]"))),
        ("D1 wrong", TEMPERATURES, "function", answer(
            "Sort the readings.", "def running_max(values):\n    return sorted(values)",
            block("assert running_max([12, 15, 11, 17]) == [12, 15, 15, 17]"))),
        ("E0 contaminated", contaminated, "function", answer(
            "Compare every pair of numbers.", humaneval["prompt"] + humaneval["canonical_solution"],
            block("assert has_close_elements([1.0, 2.8, 3.0], 0.3)\nassert not has_close_elements([1.0, 2.0], 0.5)"))),
        ("F0 too long", MEAN_LONG, "function", answer(
            "Divide the sum by the count.", "def mean_of(values):\n    return sum(values) / len(values)",
            block("assert mean_of([1, 2, 3]) == 2"))),
        ("G0 correct", COUNT_WORDS, "function", answer(
            "`str.split()` without arguments drops surrounding whitespace.",
            "def count_words(text):\n    return len(text.split())",
            block('assert count_words("  two words ") == 2\nassert count_words("") == 0'))),
        ("H0 near-duplicate task", COUNT_WORDS + " Please.", "program", answer(
            "Split on runs of whitespace and count the pieces.",
            "def count_words_in(text):\n    pieces = text.strip().split()\n    return len(pieces)",
            block('assert count_words_in("one") == 1\nassert count_words_in("   ") == 0'))),
    ]


@pytest.fixture(scope="module")
def executed():
    """Every sample as the runner hands it to select: executed when it is a program, else outcome None."""
    method = SelfCodeAlign()
    stage = method.stage("response")
    instructions: dict[str, Record] = {}
    triples, programs, labels = [], [], {}
    for label, text, category, response in build_items():
        instruction = instructions.setdefault(
            text, Record("instruction", {"instruction": text, "category": category, "difficulty": "easy", "language": "python", "concepts": []})
        )
        index = sum(1 for t in triples if t[0].id == instruction.id)
        fields = stage.parse(response, instruction, 0, index)
        assert not isinstance(fields, ParseError), label
        sample = Record("sample", fields, parents=(instruction.id,), provenance={"method": "selfcodealign"})
        labels[sample.id] = label
        program = method.program(sample)
        triples.append([instruction, sample, None])
        if not isinstance(program, ParseError):
            programs.append((len(triples) - 1, program.model_copy(update={"limits": Limits(timeout=2.0)})))
    with Sandbox(workers=2) as sandbox:
        outcomes = sandbox.run_all([p for _, p in programs])
    for (i, _), outcome in zip(programs, outcomes, strict=True):
        triples[i][2] = outcome
    return [tuple(t) for t in triples], labels


def test_execution_outcomes_match_what_each_response_does(executed):
    triples, labels = executed
    status = {labels[s.id]: (o.status if o else None) for _, s, o in triples}
    assert status["A1 wrong"] is Status.FAILED and status["D1 wrong"] is Status.FAILED
    assert status["A4 loops forever"] is Status.TIMEOUT
    not_run = {"A2 placeholder", "B2 tests never called", "C0 no code", "C1 no assert"}
    assert {label for label, st in status.items() if st is None} == not_run
    passed = {label for label, st in status.items() if st is Status.PASSED}
    assert passed == set(labels.values()) - {"A1 wrong", "D1 wrong", "A4 loops forever"} - not_run


def test_selection_funnel_counts_every_removal_with_its_reason(executed):
    triples, labels = executed
    selection = select(triples)
    assert selection.counts == {
        "format": {
            "in": 17,
            "out": 13,
            "by_reason": {"format:no_assert": 1, "format:no_code": 1, "format:placeholder": 1, "format:tests_never_run": 1},
        },
        "passing": {"in": 13, "out": 10, "by_reason": {"failed": 2, "timeout": 1}},
        "test_quality": {"in": 10, "out": 8, "by_reason": {"trivial_tests": 2}},
        "one_per_instruction": {"in": 8, "out": 7, "by_reason": {"other_sample_kept": 1}},
        "too_long": {"in": 7, "out": 6, "by_reason": {"too_long": 1}},
        "diversity": {"in": 6, "out": 5, "by_reason": {"duplicate_names": 1}},
        "near_dedup:instruction": {"in": 5, "out": 4, "by_reason": {"near_duplicate:instruction": 1}},
        "near_dedup:response": {"in": 4, "out": 4, "by_reason": {}},
        "near_dedup:skeleton": {"in": 4, "out": 4, "by_reason": {}},
        "decontamination": {"in": 4, "out": 3, "by_reason": {"contaminated:humaneval": 1}},
    }
    reasons = {labels[r.id]: reason for r, reason in selection.rejected}
    assert len(selection.rejected) == 17 - 3
    assert reasons["A2 placeholder"] == "format:placeholder" and reasons["C0 no code"] == "format:no_code"
    assert reasons["A4 loops forever"] == "timeout"
    assert {reasons[k] for k in ("B0 assert True", "B1 tests redefine")} == {"trivial_tests"}
    assert reasons["B2 tests never called"] == "format:tests_never_run"
    assert reasons["F0 too long"] == "too_long" and reasons["E0 contaminated"] == "contaminated:humaneval"
    kept = sorted(labels[s.id][0] for _, s, _ in selection.kept)
    # Which of two equivalent candidates survives is the shuffle's choice; that exactly one does is the rule.
    assert kept[1] == "C" and kept[0] in "AD" and kept[2] in "GH"
    assert len({i.id for i, _, _ in selection.kept}) == 3


def test_sft_rows_keep_tests_apart_and_trace_their_lineage(executed):
    triples, _ = executed
    selection = select(triples)
    for row, (instruction, sample, _) in zip(selection.sft_rows(), selection.kept, strict=True):
        assert row["instruction"] == instruction.data["instruction"]
        assert "<tests>" not in row["response"] and "assert" not in row["response"]
        assert row["tests"].startswith(FENCE) and "assert" in row["tests"]
        assert row["lineage"]["sample"] == sample.id and row["lineage"]["instruction"] == instruction.id
        assert row["lineage"]["execution"]["status"] == "passed"
        assert row["provenance"]["response"] == {"method": "selfcodealign"}


def test_dpo_pairs_pair_the_kept_response_with_a_plain_failure(executed):
    triples, labels = executed
    selection = select(triples)
    assert len(selection.pairs) == 1
    pair = selection.pairs[0]
    by_id = {s.id: s for _, s, _ in triples}
    kept = next(s for i, s, _ in selection.kept if i.id == pair["instruction_id"])
    assert pair["chosen"] == kept.data["solution"] and pair["chosen_id"] == kept.id
    # A failed assertion is preferred to the timeout as the rejected answer.
    assert labels[pair["rejected_id"]] in ("A1 wrong", "D1 wrong")
    assert pair["rejected"] == by_id[pair["rejected_id"]].data["solution"]
    assert set(pair) >= {"prompt", "chosen", "rejected"}


def test_selection_does_not_depend_on_input_order(executed):
    triples, _ = executed
    forward, backward = select(triples), select(list(reversed(triples)))
    assert [s.id for _, s, _ in forward.kept] == [s.id for _, s, _ in backward.kept]
    assert forward.pairs == backward.pairs and forward.counts == backward.counts


def test_faithful_mode_without_the_test_gate_keeps_trivially_tested_samples(executed):
    triples, labels = executed
    selection = select(triples, SelectionOptions(test_quality_gate=False, decontaminate=False, dedup_threshold=None))
    assert list(selection.counts) == ["format", "passing", "one_per_instruction", "too_long", "diversity"]
    kept = {labels[s.id][0] for _, s, _ in selection.kept}
    assert "B" in kept and "E" in kept


def test_pass_rates_by_category(executed):
    triples, _ = executed
    rates = select(triples).pass_rates
    assert rates["category"]["program"] == {"samples": 1, "executed": 1, "passed": 1, "pass_rate": 1.0}
    function = rates["category"]["function"]
    assert (function["samples"], function["executed"], function["passed"]) == (16, 12, 9)


@pytest.mark.parametrize(
    ("solution", "tests", "reason"),
    [
        (block("def f(x):\n    return x"), "", "format:no_tests"),
        (block("def f(x):\n    return x"), block("def check():\n    assert f(1) == 1"), "format:tests_never_run"),
        (block("def f(x):\n    raise NotImplementedError"), block("assert f(1) == 1"), "format:placeholder"),
        (block("def f(x):\n    ...  # TODO"), block("assert f(1) == 1"), "format:placeholder"),
        (block("def f(x):\n    return x"), block("assert f(1) == 1"), None),
    ],
)
def test_format_reasons(solution, tests, reason):
    assert format_reason({"solution": "Answer.\n\n" + solution, "tests": tests}) == reason


def test_rejections_can_be_streamed_to_a_callback(executed):
    triples, _ = executed
    streamed = []
    selection = select(iter(triples), on_reject=lambda record, reason: streamed.append((record.id, reason)))
    assert selection.rejected == []
    assert sorted(streamed) == sorted((r.id, reason) for r, reason in select(triples).rejected)


def test_a_failing_sample_with_the_kept_solution_is_not_a_preference_pair():
    instruction = Record("instruction", {"instruction": "Write `double(x)` returning twice x.", "category": "function"})
    solution = "Multiply by two.\n\n" + block("def double(x):\n    return 2 * x")

    def sample(i, tests, status):
        fields = {"response": "", "solution": solution, "tests": block(tests), "sample_index": i}
        return instruction, Record("sample", fields, parents=(instruction.id,)), Outcome(status=status)

    items = [
        sample(0, "assert double(2) == 4", Status.PASSED),
        sample(1, "assert double(2) == 5", Status.FAILED),  # same solution, wrong test: not a worse answer
    ]
    selection = select(items, SelectionOptions(decontaminate=False))
    assert len(selection.kept) == 1 and selection.pairs == []
    wrong = "Add two.\n\n" + block("def double(x):\n    return x + 2")
    third = Record("sample", {"response": "", "solution": wrong, "tests": block("assert double(3) == 6"), "sample_index": 2}, parents=(instruction.id,))
    selection = select([*items, (instruction, third, Outcome(status=Status.FAILED))], SelectionOptions(decontaminate=False))
    assert [p["rejected_id"] for p in selection.pairs] == [third.id]
