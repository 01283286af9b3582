"""Fast ROUGE-L: the same values as the rouge-score package, and the exact best match in a growing pool."""

import random

from rouge_score import rouge_scorer

from codealign.synth.rouge import RougeIndex, lcs_length, rouge_l, tokenize

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
VOCABULARY = "write a python function that returns the sum of a list numbers string sort reverse each element count"
WORDS = VOCABULARY.split()


def reference(a: str, b: str) -> float:
    return SCORER.score(a, b)["rougeL"].fmeasure


def random_text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 24))]
    return " ".join(words) + rng.choice(["", ".", "!", " (x, y)", " Ünïcode-Wörds", "  `f(a, b)`"])


def test_values_equal_rouge_score_on_hand_built_and_random_pairs():
    pairs = [
        ("Write a function that sorts a list.", "Write a function that sorts a list of numbers."),
        ("Reverse a string.", "Count the vowels in a string."),
        ("", "anything at all"),
        ("Write `parse_config(text)`: key = value lines!", "write PARSE_CONFIG text key value lines"),
        ("a a a b", "a b a b a"),
        ("Écrivez une fonction", "ecrivez une fonction"),
    ]
    rng = random.Random(7)
    pairs += [(random_text(rng), random_text(rng)) for _ in range(800)]
    for a, b in pairs:
        assert rouge_l(a, b) == reference(a, b), (a, b)  # float equality: same tokens, same formula
        assert rouge_l(b, a) == rouge_l(a, b)


def test_bit_parallel_lcs_matches_the_textbook_table():
    rng = random.Random(3)
    for _ in range(200):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]  # past 64 tokens: more than one machine word
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
        assert lcs_length(a, b) == table[-1][-1]


def test_index_finds_the_exact_best_match_and_forgets_on_truncate():
    rng = random.Random(11)
    pool = [random_text(rng) for _ in range(200)]
    index = RougeIndex()
    for text in pool:
        index.add(text)
    for _ in range(60):
        query = random_text(rng)
        best = max(reference(query, t) for t in pool)
        score, position = index.best(query)
        assert score == best
        if best > 0:
            assert reference(query, pool[position]) == best
        above, _ = index.best(query, floor=0.7)
        assert (above == best) if best >= 0.7 else (above < 0.7)
    index.truncate(50)
    assert len(index) == 50
    for _ in range(40):
        query = random_text(rng)
        assert index.best(query)[0] == max(reference(query, t) for t in pool[:50])


def test_tokens_are_rouge_scores_tokens():
    assert tokenize("Write `f(a, b)` -- it's 2x faster!") == ["write", "f", "a", "b", "it", "s", "2x", "faster"]
    assert RougeIndex().best("anything") == (0.0, -1)
