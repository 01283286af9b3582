"""ROUGE-L novelty filtering as Self-Instruct runs it: codealign's `RougeIndex` against the `rouge-score` package.

The candidates are the first paragraphs of the standard library's function and class docstrings (short English
statements of what code does, like generated tasks), in a fixed shuffled order; the large codealign-only run adds
those of the installed packages. Each candidate is compared with every text kept
so far and kept when its best ROUGE-L F1 is below 0.7, the loop Self-Instruct's bootstrap runs. Three ways, same
candidates, same run:

  rouge-score score()    `RougeScorer(["rougeL"]).score(candidate, kept)` for every kept text (the textbook loop)
  rouge-score tokens     texts tokenised once, then `rouge_scorer._score_lcs` per pair (what Self-Instruct's
                         own code does, without its process pool)
  codealign              `RougeIndex.best(candidate, floor=0.7)` then `add()`: inverted-index bound, bit-parallel LCS

The script checks that all three keep exactly the same texts and that codealign's best score equals rouge-score's
for every candidate (exact float equality, computed over all kept texts), then prints the times and ratios. A
second, larger pool is run through codealign alone.

    .venv/bin/python benchmarks/rouge.py                    # 1,000 candidates compared three ways, 20,000 codealign-only
    .venv/bin/python benchmarks/rouge.py --compare 600 --large 5000
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
import sysconfig
import time
from pathlib import Path

THRESHOLD = 0.7


def _sentences(root: Path, seen: dict[str, None], limit: int) -> None:
    for path in sorted(root.rglob("*.py")):
        if len(seen) >= limit:
            return
        if "test" in path.parts or "tests" in path.parts or (root.name != "site-packages" and "site-packages" in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc:
                    sentence = " ".join(doc.split("\n\n")[0].split())
                    if 4 <= len(sentence.split()) <= 60:
                        seen.setdefault(sentence, None)


def docstring_sentences(limit: int) -> list[str]:
    """First paragraphs of function and class docstrings, deduplicated, in a fixed shuffled order: the standard
    library's first (the compared set), then the installed packages' (numpy, torch, transformers, ...) for the
    large set."""
    seen: dict[str, None] = {}
    _sentences(Path(sysconfig.get_paths()["stdlib"]), seen, limit)
    stdlib = list(seen)
    random.Random(0).shuffle(stdlib)
    _sentences(Path(sysconfig.get_paths()["purelib"]), seen, limit)
    rest = list(seen)[len(stdlib) :]
    random.Random(1).shuffle(rest)
    return (stdlib + rest)[:limit]


def with_scorer(candidates: list[str]) -> tuple[list[bool], list[float], float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    kept: list[str] = []
    keep, best = [], []
    started = time.perf_counter()
    for text in candidates:
        score = max((scorer.score(text, k)["rougeL"].fmeasure for k in kept), default=0.0)
        best.append(score)
        keep.append(score < THRESHOLD)
        if score < THRESHOLD:
            kept.append(text)
    return keep, best, time.perf_counter() - started


def with_tokens(candidates: list[str]) -> tuple[list[bool], list[float], float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    kept: list[list[str]] = []
    keep, best = [], []
    started = time.perf_counter()
    for text in candidates:
        tokens = scorer._tokenizer.tokenize(text)
        score = max((rouge_scorer._score_lcs(tokens, k).fmeasure for k in kept), default=0.0)
        best.append(score)
        keep.append(score < THRESHOLD)
        if score < THRESHOLD:
            kept.append(tokens)
    return keep, best, time.perf_counter() - started


def with_codealign(candidates: list[str], floor: float) -> tuple[list[bool], list[float], float]:
    from codealign.synth.rouge import RougeIndex

    index = RougeIndex()
    keep, best = [], []
    started = time.perf_counter()
    for text in candidates:
        score, _ = index.best(text, floor=floor)
        best.append(score)
        keep.append(score < THRESHOLD)
        if score < THRESHOLD:
            index.add(text)
    return keep, best, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", type=int, default=1000, help="candidates run through all three")
    parser.add_argument("--large", type=int, default=20000, help="candidates run through codealign alone")
    args = parser.parse_args()
    texts = docstring_sentences(max(args.compare, args.large))
    print(f"{len(texts):,} docstring sentences (python {sys.version.split()[0]}); the first {args.compare:,} from the stdlib")
    small = texts[: args.compare]

    keep_a, best_a, t_score = with_scorer(small)
    keep_b, best_b, t_tokens = with_tokens(small)
    # floor 0: the exact best score of every candidate, to compare values; floor 0.7: what the filter needs.
    keep_c, best_c, t_exact = with_codealign(small, floor=0.0)
    keep_d, _, t_filter = with_codealign(small, floor=THRESHOLD)
    assert keep_a == keep_b == keep_c == keep_d, "the three tools kept different texts"
    assert best_a == best_b == best_c, "best ROUGE-L values differ"
    pairs = sum(sum(keep_a[:i]) for i in range(len(small)))
    print(f"\n{len(small):,} candidates, {sum(keep_a):,} kept, {pairs:,} candidate-kept pairs; identical decisions and "
          "identical best scores (float equality) in all three")
    print(f"{'rouge-score score()':32}{t_score:10.2f} s {1e6 * t_score / pairs:10.1f} us/pair")
    print(f"{'rouge-score pre-tokenised':32}{t_tokens:10.2f} s {1e6 * t_tokens / pairs:10.1f} us/pair")
    print(f"{'codealign, exact best':32}{t_exact:10.3f} s  x{t_score / t_exact:,.0f} vs score(), x{t_tokens / t_exact:,.0f} vs tokens")
    print(f"{'codealign, filter (floor 0.7)':32}{t_filter:10.3f} s  x{t_score / t_filter:,.0f} vs score(), x{t_tokens / t_filter:,.0f} vs tokens")

    large = texts[: args.large]
    if len(large) > len(small):
        keep, _, t_large = with_codealign(large, floor=THRESHOLD)
        print(f"\ncodealign alone: {len(large):,} candidates, {sum(keep):,} kept, {t_large:.2f} s "
              f"({1e3 * t_large / len(large):.3f} ms per candidate against the pool kept so far)")


if __name__ == "__main__":
    main()
