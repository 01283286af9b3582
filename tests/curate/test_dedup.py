import random

import pytest

from codealign.curate.dedup import NearDedupIndex, exact_dedup_mask, near_dedup_mask
from codealign.curate.minhash import catch_probability, choose_bands

from .conftest import oracle_jaccard


def _perturb(text: str, rng: random.Random, edits: int = 4) -> str:
    """A near-duplicate: a few lines changed, the way a copied file drifts."""
    lines = text.splitlines()
    for _ in range(edits):
        i = rng.randrange(len(lines))
        lines[i] = lines[i] + "  # tweaked"
    return "\n".join(lines)


def test_planted_near_duplicates_are_removed_and_distinct_files_kept(stdlib_texts):
    rng = random.Random(0)
    corpus = list(stdlib_texts)
    planted = {}
    for src in (3, 17, 42, 77):
        planted[len(corpus)] = src
        corpus.append(_perturb(stdlib_texts[src], rng))
    assert all(oracle_jaccard(corpus[i], corpus[s]) >= 0.7 for i, s in planted.items())

    keep = near_dedup_mask(corpus, threshold=0.7)

    assert len(keep) == len(corpus)
    for i, src in planted.items():
        assert keep[src] and not keep[i], f"planted copy of {src} not removed"
    # no false merges: every removed file really has an earlier file at or above the threshold
    for i, kept in enumerate(keep):
        if not kept:
            assert max(oracle_jaccard(corpus[i], corpus[j]) for j in range(i)) >= 0.7


def test_similar_but_different_code_is_kept(stdlib_texts):
    base = stdlib_texts[5]
    rng = random.Random(1)
    lines = base.splitlines()
    # rewrite a third of the lines: similar, but below the threshold
    for i in rng.sample(range(len(lines)), len(lines) // 3):
        lines[i] = f"value_{i} = compute_{i}(item_{i})"
    variant = "\n".join(lines)
    j = oracle_jaccard(base, variant)
    assert 0.2 < j < 0.7
    assert near_dedup_mask([base, variant], threshold=0.7) == [True, True]
    assert near_dedup_mask([base, variant], threshold=j - 0.05) == [True, False]


def test_short_documents_do_not_collapse_into_one_cluster():
    texts = ["x = 1", "return y", "pass", "import re", "x = 1", "", "", "a b c d"]
    assert near_dedup_mask(texts, threshold=0.5) == [True, True, True, True, False, True, True, True]


def test_keeper_follows_rank_then_input_order(stdlib_texts):
    a = stdlib_texts[10]
    copy = a + "\n# trailing note\n"
    with NearDedupIndex(threshold=0.8) as index:
        index.add([a, copy, stdlib_texts[11]])
        keep = index.keep_mask(rank=[(1, "b"), (0, "a"), (0, "c")])
    assert keep.tolist() == [False, True, True]
    assert index.stats.verified_pairs == 1


def test_streaming_with_workers_matches_in_memory(stdlib_texts):
    rng = random.Random(2)
    corpus = list(stdlib_texts[:40]) + [_perturb(stdlib_texts[i], rng) for i in (1, 2, 3)]
    expected = near_dedup_mask(corpus, threshold=0.7)
    with NearDedupIndex(threshold=0.7) as index:
        index.add_stream(iter(corpus), workers=2, batch_bytes=50_000)
        assert index.keep_mask().tolist() == expected


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.85])
def test_banding_catches_pairs_at_the_threshold(threshold):
    bands, rows = choose_bands(threshold, 256, min_recall=0.9)
    assert bands * rows <= 256
    assert catch_probability(threshold, bands, rows) >= 0.9


def test_exact_dedup_keeps_best_ranked_copy():
    assert exact_dedup_mask(["a", "b", "a", "a"]) == [True, True, False, False]
    assert exact_dedup_mask(["a", "b", "a"], rank=[2, 0, 1]) == [False, True, True]
