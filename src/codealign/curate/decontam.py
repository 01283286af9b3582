"""Benchmark decontamination: normalised exact substrings (one Aho-Corasick pass) and word n-gram overlap.

Indexed per problem: the docstring of the prompt, the whole prompt and the canonical solution (solutions shorter
than `min_chars` once normalised, such as `return x + y`, are skipped: they occur in ordinary code). Normalising
lower-cases and collapses whitespace, so re-indented or re-wrapped copies still match.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codealign.curate.minhash import shingle_hashes, tokenize
from codealign.errors import ConfigError, MissingDependency

_WS = re.compile(r"\s+")


# Words that say nothing about which problem a text came from: an n-gram made of these (loops over `range`,
# runs of numbers or number words) turns up in ordinary code and would flag it.
_GENERIC = frozenset(
    {w.lower() for w in keyword.kwlist}
    | {w.lower() for w in dir(builtins)}
    | set(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "hundred", "thousand", "first", "second", "third", "the", "and", "for", "with", "that", "this", "from", "are", "not", "you", "your", "all", "any", "its", "into", "than", "then", "there", "these", "those", "was", "were", "will", "can", "has", "have", "had", "but", "when", "which", "while", "who", "what", "how", "each", "per", "via", "also", "self", "cls", "args", "kwargs"]
    )
)
MIN_INFORMATIVE = 3


def _informative(words: Sequence[str]) -> bool:
    """At least MIN_INFORMATIVE distinct words that are alphabetic, 3+ letters and not generic."""
    return len({w for w in words if len(w) >= 3 and w.isalpha() and w not in _GENERIC}) >= MIN_INFORMATIVE


def normalize(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class Match:
    benchmark: str
    task_id: str
    kind: str  # "substring" or "ngram"
    snippet: str


def _docstring(prompt: str) -> str | None:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                return doc
    return None


def _ngram_hashes(text: str, n: int) -> np.ndarray:
    """64-bit hash of every word n-gram, in position order (the MinHash shingles, with n words)."""
    hashes, _ = shingle_hashes([text], n)
    if len(hashes) == 1 and len(tokenize(text)) < n:
        return hashes[:0]  # a text shorter than n words gets one all-words shingle, which is no n-gram
    return hashes


@dataclass
class DecontamReport:
    """What matched, per benchmark: counts by kind and the task ids hit, with how many texts hit each."""

    checked: int = 0
    contaminated: int = 0
    by_benchmark: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, matches: Sequence[Match]) -> None:
        self.checked += 1
        if matches:
            self.contaminated += 1
        seen = set()
        for m in matches:
            if (m.benchmark, m.task_id, m.kind) in seen:
                continue
            seen.add((m.benchmark, m.task_id, m.kind))
            entry = self.by_benchmark.setdefault(m.benchmark, {"substring": 0, "ngram": 0, "tasks": Counter()})
            entry[m.kind] += 1
            entry["tasks"][m.task_id] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "contaminated": self.contaminated,
            "benchmarks": {
                name: {"substring": e["substring"], "ngram": e["ngram"], "tasks": dict(sorted(e["tasks"].items()))}
                for name, e in sorted(self.by_benchmark.items())
            },
        }


class Decontaminator:
    """Find benchmark text inside `text`; `find` returns the matches (empty list = clean)."""

    def __init__(
        self,
        benchmarks: Sequence[str] = ("humaneval",),
        ngram: int = 10,
        min_chars: int = 40,
        substring: bool = True,
        ngrams: bool = True,
        problems: Mapping[str, Iterable[dict[str, Any]]] | None = None,
    ) -> None:
        """`problems` indexes these tasks by benchmark name instead of loading `benchmarks` by name."""
        if ngram < 1:
            raise ConfigError(f"ngram must be at least 1, got {ngram}")
        try:
            import ahocorasick
        except ImportError as exc:
            raise MissingDependency("pyahocorasick", purpose="decontamination") from exc
        from codealign.evaluate.benchmarks import load_benchmark

        self.benchmarks = tuple(problems) if problems is not None else tuple(benchmarks)
        self.ngram = ngram
        self.use_substring, self.use_ngrams = substring, ngrams
        self._automaton = ahocorasick.Automaton()
        self._ngrams: dict[int, tuple[str, str, str]] = {}
        for name in self.benchmarks:
            for problem in problems[name] if problems is not None else load_benchmark(name):
                self._index(name, problem, min_chars)
        if len(self._automaton):
            self._automaton.make_automaton()
        self._keys = np.sort(np.fromiter(self._ngrams, dtype=np.uint64, count=len(self._ngrams)))

    def _index(self, bench: str, problem: dict[str, Any], min_chars: int) -> None:
        task = str(problem["task_id"])
        prompt, solution = problem.get("prompt", ""), problem.get("canonical_solution", "")
        pieces = [_docstring(prompt) or "", prompt, solution]
        for piece in pieces:
            norm = normalize(piece)
            if len(norm) >= min_chars and norm not in self._automaton:
                self._automaton.add_word(norm, (bench, task, norm))
        words_text = prompt + "\n" + solution
        words = [w.decode("utf-8", "replace") for w in tokenize(words_text)]
        for i, key in enumerate(_ngram_hashes(words_text, self.ngram).tolist()):
            gram = words[i : i + self.ngram]
            if _informative(gram):
                self._ngrams.setdefault(key, (bench, task, " ".join(gram)))

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        seen: set[tuple[str, str, str]] = set()
        if self.use_substring and len(self._automaton):
            for _, (bench, task, norm) in self._automaton.iter(normalize(text)):
                if (bench, task, "substring") not in seen:
                    seen.add((bench, task, "substring"))
                    out.append(Match(bench, task, "substring", norm[:200]))
        if self.use_ngrams and len(self._keys):
            hashes = _ngram_hashes(text, self.ngram)
            pos = np.searchsorted(self._keys, hashes)
            pos[pos == len(self._keys)] = 0
            for key in hashes[self._keys[pos] == hashes].tolist():
                hit = self._ngrams[key]
                if (hit[0], hit[1], "ngram") not in seen:
                    seen.add((hit[0], hit[1], "ngram"))
                    out.append(Match(hit[0], hit[1], "ngram", hit[2]))
        return out

    def find_many(self, texts: Iterable[str], report: DecontamReport | None = None) -> Iterator[list[Match]]:
        for text in texts:
            matches = self.find(text)
            if report is not None:
                report.add(matches)
            yield matches
