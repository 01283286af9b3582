"""CodeT-style consensus on a hand-built instruction whose samples disagree, and the pairs it makes."""

from codealign.records import Record
from codealign.sandbox import Outcome, Status
from codealign.select import SelectionOptions, select
from codealign.select.consensus import scores
from codealign.select.items import Evidence

FENCE = "```"
INSTRUCTION = Record("instruction", {"instruction": "Write `median(values)` returning the median of a list of numbers."})
CODES = {
    "a": "def median(values):\n    s = sorted(values)\n    m = len(s) // 2\n    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2\n",
    "b": "def median(values):\n    return values[len(values) // 2]\n",  # right only on sorted input
    "c": "import statistics\n\ndef median(values):\n    return statistics.median(values)\n",
    "d": "def median(values):\n    return sorted(values)[len(values) // 2]\n",  # wrong on even lengths
}
TESTS = {
    "a": "assert median([3, 1, 2]) == 2\nassert median([4, 1, 3, 2]) == 2.5\n",
    "b": "assert median([1, 2, 3]) == 2\n",
    "c": "assert median([5, 1, 3]) == 3\n",
    "d": "assert median([1, 2, 3, 4]) == 2.5\n",
}
# Which sample's code passes which sample's tests (a, b and c pass their own; d fails its own).
PASSES = {"a": {"a", "b", "c"}, "b": {"b"}, "c": {"a", "b", "c"}, "d": set()}


def sample(name):
    return Record("sample", {"solution": f"{FENCE}python\n{CODES[name]}{FENCE}", "tests": f"{FENCE}python\n{TESTS[name]}{FENCE}",
                             "sample_index": "abcd".index(name)}, parents=(INSTRUCTION.id,))  # fmt: skip


SAMPLES = {name: sample(name) for name in CODES}


def cross_results():
    suites = [SAMPLES[n].id for n in "abc"]  # the passing samples' tests
    matrix = {(SAMPLES[m].id, SAMPLES[s].id): s in PASSES[m] for m in CODES for s in "abc"}
    return scores([SAMPLES[n].id for n in CODES], suites, matrix)


def test_dual_agreement_scores():
    results = {name: cross_results()[SAMPLES[name].id] for name in CODES}
    # Two samples pass all three suites: 2 x 3. One passes only its own: 1 x 1. One passes none: 0.
    assert {n: r.consensus for n, r in results.items()} == {"a": 6, "b": 1, "c": 6, "d": 0}
    # Agreement counts the other samples' suites only.
    assert {n: r.agreement for n, r in results.items()} == {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}
    assert results["b"].fails_others(SAMPLES["b"].id) and not results["a"].fails_others(SAMPLES["a"].id)


def items():
    results = cross_results()
    for name, record in SAMPLES.items():
        status = Status.FAILED if name == "d" else Status.PASSED
        yield INSTRUCTION, record, Outcome(status=status), Evidence(cross=results[record.id])


def options(**kw):
    return SelectionOptions(decontaminate=False, dedup_threshold=None, test_quality_gate=False, **kw)


def test_consensus_never_keeps_the_self_consistent_wrong_answer_whatever_the_shuffle():
    random_kept_b = 0
    for seed in range(12):
        chosen = select(items(), options(choose="consensus", shuffle_seed=seed))
        assert chosen.kept[0][1].id in (SAMPLES["a"].id, SAMPLES["c"].id)
        assert chosen.consensus["kept_fails_others"] == 0
        randomly = select(items(), options(shuffle_seed=seed))
        kept_b = randomly.kept[0][1].id == SAMPLES["b"].id
        random_kept_b += kept_b
        # The funnel says, for the random choice, whether it kept a response that fails the others' tests.
        assert randomly.consensus["random_choice_fails_others"] == kept_b == chosen.consensus["choice_changed"]
    assert 0 < random_kept_b < 12  # a third of the passing samples: the shuffle sometimes keeps it


def test_pairs_say_why_they_were_formed():
    pairs = select(items(), options(choose="consensus", shuffle_seed=0)).pairs
    assert len(pairs) == 1
    pair = pairs[0]
    # The hardest negative: b passes the tests it wrote and fails two suites the chosen response passes.
    assert pair["rule"] == "consensus" and pair["rejected_id"] == SAMPLES["b"].id
    assert set(pair["rejected_fails"]) == {SAMPLES["a"].id, SAMPLES["c"].id}
    assert "though it passes its own" in pair["reason"]
    failing = select(items(), options(choose="consensus", shuffle_seed=0, pairs="failing")).pairs
    assert failing[0]["rule"] == "failing" and failing[0]["rejected_id"] == SAMPLES["d"].id
    assert failing[0]["reason"] == "rejected fails its own tests: failed"
    assert select(items(), options(pairs=False)).pairs == []
    # Without cross-checking, `auto` falls back to the failing pair.
    plain = [(i, s, o) for i, s, o, _ in items()]
    assert select(plain, options(shuffle_seed=0)).pairs[0]["rule"] == "failing"
