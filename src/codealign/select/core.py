"""Selection itself: the per-sample filters, one per instruction, the text filters and the funnel counts."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from codealign.config import StrictModel
from codealign.evaluate.benchmarks import available as shipped_benchmarks
from codealign.records import Record
from codealign.sandbox.types import Outcome, Status
from codealign.select.gates import test_quality_reason
from codealign.select.items import FAILING, Item, squash
from codealign.select.pairs import FailingPairs
from codealign.synth import code as codeutil
from codealign.synth.code import format_reason

DedupField = Literal["instruction", "response", "skeleton"]


class SelectionOptions(StrictModel):
    """How samples are selected; the defaults follow SelfCodeAlign, plus the test-quality gate."""

    max_instruction_words: int = Field(200, ge=1, description="drop instructions longer than this")
    test_quality_gate: bool = Field(True, description="reject tests that never exercise the solution")
    diversify_names: bool = Field(True, description="keep one example per set of defined function/class names")
    dedup_threshold: float | None = Field(0.7, gt=0.0, le=1.0, description="MinHash Jaccard threshold; null = off")
    dedup_fields: tuple[DedupField, ...] = ("instruction", "response", "skeleton")
    dedup_num_perm: int = Field(256, ge=16)
    dedup_ngram: int = Field(5, ge=1, description="word n-gram size of the MinHash shingles")
    decontaminate: bool = True
    benchmarks: tuple[str, ...] = Field(
        default_factory=lambda: tuple(shipped_benchmarks()), description="benchmarks to decontaminate against (all shipped)"
    )
    decontam_ngram: int = Field(10, ge=1)
    shuffle_seed: int = Field(6666, description="seed of the shuffle that picks one passing sample per instruction")
    pairs: bool = Field(True, description="make DPO pairs from kept and failing samples of the same instruction")


@dataclass
class Selection:
    """What selection kept (one triple per instruction, in shuffled order), what it removed and why, and the
    per-filter counts, DPO pairs and pass rates by category and difficulty."""

    kept: list[Item] = field(default_factory=list)
    rejected: list[tuple[Record, str]] = field(default_factory=list)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)  # filter -> {in, out, by_reason}, in order
    pairs: list[dict[str, Any]] = field(default_factory=list)
    pass_rates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def sft_rows(self) -> list[dict[str, Any]]:
        return [sft_row(*item) for item in self.kept]


# ---------------------------------------------------------------------------------------------------------------
# Checks on one sample


def _passing_reason(outcome: Outcome | None) -> str | None:
    if outcome is None:
        return "not_executed"
    return None if outcome.status is Status.PASSED else outcome.status.value


# ---------------------------------------------------------------------------------------------------------------
# The funnel


class _Funnel:
    """Counts per filter, in order, and where rejected records go (a list, or the caller's callback)."""

    def __init__(self, on_reject: Callable[[Record, str], None] | None) -> None:
        self.counts: dict[str, dict[str, Any]] = {}
        self.rejected: list[tuple[Record, str]] = []
        self._sink = on_reject or (lambda record, reason: self.rejected.append((record, reason)))

    def reject(self, name: str, record: Record, reason: str) -> None:
        entry = self.counts.setdefault(name, {"in": 0, "out": 0, "by_reason": {}})
        entry["by_reason"][reason] = entry["by_reason"].get(reason, 0) + 1
        self._sink(record, reason)

    def close(self, name: str, n_in: int, n_out: int) -> None:
        entry = self.counts.pop(name, {"by_reason": {}})
        # Re-inserted on closing, so the filters are listed in the order they ran.
        self.counts[name] = {"in": n_in, "out": n_out, "by_reason": dict(sorted(entry["by_reason"].items()))}

    def apply(self, name: str, items: list[Item], judge: Callable[[Item], str | None]) -> list[Item]:
        kept: list[Item] = []
        for item in items:
            reason = judge(item)
            if reason is None:
                kept.append(item)
            else:
                self.reject(name, item[1], reason)
        self.close(name, len(items), len(kept))
        return kept

    def mask(self, name: str, items: list[Item], keep: list[bool], reason: str) -> list[Item]:
        verdict = iter(keep)
        return self.apply(name, items, lambda _: None if next(verdict) else reason)


def _one_per_instruction() -> Callable[[Item], str | None]:
    seen_ids: set[str] = set()
    seen_instructions: set[str] = set()
    seen_responses: set[str] = set()

    def judge(item: Item) -> str | None:
        instruction, sample, _ = item
        if instruction.id in seen_ids:
            return "other_sample_kept"
        text_key, response_key = squash(instruction.data["instruction"]), squash(sample.data["solution"])
        if text_key in seen_instructions:
            return "duplicate_instruction"
        if response_key in seen_responses:
            return "duplicate_response"
        seen_ids.add(instruction.id)
        seen_instructions.add(text_key)
        seen_responses.add(response_key)
        return None

    return judge


# An entry point's name says nothing about what a program does; counting it would leave one program per run.
_ENTRY_POINTS = frozenset({"main"})


def _language(item: Item) -> str:
    return str(item[1].data.get("language") or item[0].data.get("language") or "python")


def _names_key(item: Item) -> frozenset[str] | None:
    language = _language(item)
    code, _ = codeutil.program_parts(item[1].data["solution"], "", language)
    names = codeutil.defined_names(code, language)
    if names is None:
        return None
    # The same names in two languages are two different programs.
    prefix = "" if language == "python" else f"{language}:"
    key = frozenset({f"{prefix}def:{n}" for n in names[0] - _ENTRY_POINTS} | {f"{prefix}class:{n}" for n in names[1]})
    return key or None  # scripts without definitions have no name set to compare


def _dedup_text(item: Item, what: DedupField) -> str:
    instruction, sample, _ = item
    if what == "instruction":
        return instruction.data["instruction"]
    if what == "response":
        return sample.data["solution"]
    language = _language(item)
    code, _ = codeutil.program_parts(sample.data["solution"], "", language)
    return codeutil.skeleton(code, language)


def _near_dedup_mask(texts: list[str], options: SelectionOptions) -> list[bool]:
    from codealign.curate.dedup import near_dedup_mask

    present = [i for i, text in enumerate(texts) if text.strip()]
    mask = [True] * len(texts)
    # Empty texts (a skeleton of a script with no definitions) say nothing about duplication: always kept.
    verdicts = near_dedup_mask(
        [texts[i] for i in present], options.dedup_threshold or 1.0, options.dedup_num_perm, options.dedup_ngram
    )
    for i, keep in zip(present, verdicts, strict=True):
        mask[i] = keep
    return mask


class _PassRates:
    """Samples, executed samples and passing samples by instruction category and difficulty."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {"category": {}, "difficulty": {}}

    def add(self, instruction: Record, outcome: Outcome | None) -> None:
        executed = outcome is not None and outcome.status is not Status.SANDBOX_ERROR
        passed = outcome is not None and outcome.status is Status.PASSED
        for prop, rows in self.rows.items():
            value = str(instruction.data.get(prop, "unknown"))
            row = rows.setdefault(value, {"samples": 0, "executed": 0, "passed": 0})
            row["samples"] += 1
            row["executed"] += int(executed)
            row["passed"] += int(passed)

    def table(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for prop, rows in self.rows.items():
            out[prop] = {}
            for value, row in sorted(rows.items()):
                rate = round(row["passed"] / row["executed"], 4) if row["executed"] else None
                out[prop][value] = {**row, "pass_rate": rate}
        return out


def select(
    items: Iterable[Item],
    options: SelectionOptions | None = None,
    on_reject: Callable[[Record, str], None] | None = None,
    executed: bool = True,
) -> Selection:
    """Pick one validated (instruction, sample, outcome) per instruction; count every removal; make DPO pairs.

    `items` is consumed once, as a stream: only samples that pass the per-sample filters (format, passing, test
    quality) are held in memory. Rejected samples go to `on_reject(record, reason)` when given (then
    `Selection.rejected` stays empty), else they are collected in `Selection.rejected`.

    `executed=False` is for methods that write no tests (their samples were never run): the format filter checks
    the code only, and the passing and test-quality filters and DPO pairs, which need outcomes, are left out.
    """
    options = options or SelectionOptions()
    funnel = _Funnel(on_reject)
    rates = _PassRates()
    failures = FailingPairs()
    survivors: list[Item] = []
    n_format = n_passing = n_quality = 0
    for item in items:
        instruction, sample, outcome = item
        rates.add(instruction, outcome)
        n_format += 1
        reason = format_reason(sample.data, tests_required=executed)
        if reason:
            funnel.reject("format", sample, reason)
            continue
        if not executed:
            survivors.append(item)
            continue
        n_passing += 1
        if options.pairs and outcome is not None and outcome.status in FAILING:
            failures.add(instruction, sample, outcome)
        reason = _passing_reason(outcome)
        if reason:
            funnel.reject("passing", sample, reason)
            continue
        n_quality += 1
        if options.test_quality_gate:
            reason = test_quality_reason(sample, outcome)
            if reason:
                funnel.reject("test_quality", sample, reason)
                continue
        survivors.append(item)
    if not executed:
        funnel.close("format", n_format, len(survivors))
    else:
        funnel.close("format", n_format, n_passing)
        funnel.close("passing", n_passing, n_quality)
        if options.test_quality_gate:
            funnel.close("test_quality", n_quality, len(survivors))
    # Sort first so that the choice depends only on the samples, never on the order the runner read them in.
    survivors.sort(key=lambda it: it[1].id)
    random.Random(options.shuffle_seed).shuffle(survivors)
    current = funnel.apply("one_per_instruction", survivors, _one_per_instruction())
    limit = options.max_instruction_words
    current = funnel.apply(
        "too_long", current, lambda it: "too_long" if len(it[0].data["instruction"].split()) > limit else None
    )
    if options.diversify_names:
        seen: set[frozenset[str]] = set()

        def diverse(item: Item) -> str | None:
            key = _names_key(item)
            if key is None:
                return None
            if key in seen:
                return "duplicate_names"
            seen.add(key)
            return None

        current = funnel.apply("diversity", current, diverse)
    if options.dedup_threshold is not None:
        for what in options.dedup_fields:
            mask = _near_dedup_mask([_dedup_text(it, what) for it in current], options)
            current = funnel.mask(f"near_dedup:{what}", current, mask, f"near_duplicate:{what}")
    if options.decontaminate:
        from codealign.curate.decontam import Decontaminator

        finder = Decontaminator(benchmarks=options.benchmarks, ngram=options.decontam_ngram)

        def clean(item: Item) -> str | None:
            instruction, sample, _ = item
            text = "\n".join((instruction.data["instruction"], sample.data["solution"], sample.data["tests"]))
            matches = finder.find(text)
            return f"contaminated:{matches[0].benchmark}" if matches else None

        current = funnel.apply("decontamination", current, clean)
    return Selection(
        kept=current,
        rejected=funnel.rejected,
        counts=funnel.counts,
        pairs=failures.pairs(current) if options.pairs and executed else [],
        pass_rates=rates.table(),
    )


# ---------------------------------------------------------------------------------------------------------------
# Outputs


def sft_row(instruction: Record, sample: Record, outcome: Outcome | None) -> dict[str, Any]:
    """A training example: the response without its tests, the tests in their own field, lineage and provenance."""
    data = instruction.data
    execution = None
    if outcome is not None:
        execution = {"status": outcome.status.value, "duration": outcome.duration, "program": outcome.id}
    return {
        "instruction": data["instruction"],
        "response": sample.data["solution"],
        "tests": sample.data["tests"],
        "category": data.get("category"),
        "difficulty": data.get("difficulty"),
        "language": data.get("language"),
        "concepts": data.get("concepts"),
        "lineage": {
            "instruction": instruction.id,
            "instruction_parents": list(instruction.parents),
            "sample": sample.id,
            "sample_index": sample.data.get("sample_index"),
            "execution": execution,
        },
        "provenance": {"instruction": instruction.provenance, "response": sample.provenance},
    }
