"""Selection itself: the per-sample filters, one per instruction, the text filters and the funnel counts."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator

from codealign.config import StrictModel
from codealign.evaluate.benchmarks import available as shipped_benchmarks
from codealign.records import Record
from codealign.sandbox.types import Outcome, Status
from codealign.select.consensus import ConsensusTally, CrossResult, preference
from codealign.select.gates import test_quality_reason
from codealign.select.items import NO_EVIDENCE, Evidence, Item, squash
from codealign.select.pairs import Pairs, PairsMode
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
    choose: Literal["random", "consensus"] = Field(
        "random", description="which passing response per instruction: the shuffle's first, or the highest consensus"
    )
    min_coverage: float | None = Field(None, ge=0.0, le=1.0, description="least line coverage of the solution by its tests")
    min_branch_coverage: float | None = Field(None, ge=0.0, le=1.0, description="least branch coverage")
    min_kill_rate: float | None = Field(None, ge=0.0, le=1.0, description="least share of mutants the tests kill")
    pairs: PairsMode = Field(
        "auto", description="DPO pairs: consensus where cross-checked, else failing (auto); failing; consensus; off"
    )

    @field_validator("pairs", mode="before")
    @classmethod
    def _pairs_flag(cls, value: Any) -> Any:
        # `pairs: true/false` from configs written before the modes existed.
        return {True: "auto", False: "off"}.get(value, value) if isinstance(value, bool) else value


@dataclass
class Selection:
    """What selection kept (one triple per instruction, in shuffled order), what it removed and why, and the
    per-filter counts, DPO pairs and pass rates by category and difficulty."""

    kept: list[Item] = field(default_factory=list)
    rejected: list[tuple[Record, str]] = field(default_factory=list)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)  # filter -> {in, out, by_reason}, in order
    pairs: list[dict[str, Any]] = field(default_factory=list)
    pass_rates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    consensus: dict[str, Any] | None = None  # how often the kept response fails the others' tests (cross-checked runs)
    evidence: dict[str, Evidence] = field(default_factory=dict)  # sample id -> its feedback, for the kept samples

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
    """Samples, executed samples and passing samples by instruction category and difficulty, and by the category
    the response actually is (`category_actual`, read from its code: a class asked for may come back a function)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {"category": {}, "difficulty": {}, "category_actual": {}}

    def add(self, instruction: Record, outcome: Outcome | None, sample: Record | None = None) -> None:
        executed = outcome is not None and outcome.status is not Status.SANDBOX_ERROR
        passed = outcome is not None and outcome.status is Status.PASSED
        values = {prop: str(instruction.data.get(prop, "unknown")) for prop in ("category", "difficulty")}
        values["category_actual"] = str(actual_category(instruction, sample) or "unknown")
        for prop, rows in self.rows.items():
            value = values[prop]
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


def _adequacy_reason(evidence: Evidence, options: SelectionOptions) -> str | None:
    """Why a passing sample's tests exercise too little of it (not measured: no verdict)."""
    adequacy = evidence.adequacy
    if adequacy is None:
        return None
    coverage, mutation = adequacy.coverage, adequacy.mutation
    if coverage is not None:
        if options.min_coverage is not None and coverage.line_rate < options.min_coverage:
            return "coverage_below_min"
        if options.min_branch_coverage is not None and coverage.branch_rate < options.min_branch_coverage:
            return "branch_coverage_below_min"
    rate = mutation.kill_rate if mutation is not None else None
    if options.min_kill_rate is not None and rate is not None and rate < options.min_kill_rate:
        return "kill_rate_below_min"
    return None


def _choice_order(
    survivors: list[tuple[Item, Evidence]], options: SelectionOptions, tally: ConsensusTally
) -> list[Item]:
    """The survivors in the order one_per_instruction reads them: instructions in shuffle order, and within each,
    the preferred sample first (the shuffle's first, or the highest consensus)."""
    groups: dict[str, list[tuple[Item, Evidence]]] = {}
    for entry in survivors:
        groups.setdefault(entry[0][0].id, []).append(entry)
    ordered: list[Item] = []
    for group in groups.values():
        if options.choose == "consensus":
            # Stable: ties keep the shuffle's order.
            preferred = sorted(group, key=lambda e: preference(e[1].cross), reverse=True)
        else:
            preferred = group
        first, kept = group[0], preferred[0]
        tally.add((first[0][1].id, first[1].cross), (kept[0][1].id, kept[1].cross))
        ordered.extend(item for item, _ in preferred)
    return ordered


def select(
    items: Iterable[Item | tuple[Record, Record, Outcome | None, Evidence]],
    options: SelectionOptions | None = None,
    on_reject: Callable[[Record, str], None] | None = None,
    executed: bool = True,
) -> Selection:
    """Pick one validated (instruction, sample, outcome) per instruction; count every removal; make DPO pairs.

    `items` is consumed once, as a stream: only samples that pass the per-sample filters (format, passing, test
    quality, test adequacy) are held in memory. An item may carry a fourth element, the sample's `Evidence`
    (coverage, mutation score, cross-check results) that the adequacy filter, `choose: consensus` and consensus
    pairs read. Rejected samples go to `on_reject(record, reason)` when given (then `Selection.rejected` stays
    empty), else they are collected in `Selection.rejected`.

    `executed=False` is for methods that write no tests (their samples were never run): the format filter checks
    the code only, and the passing and test-quality filters and DPO pairs, which need outcomes, are left out.
    """
    options = options or SelectionOptions()
    funnel = _Funnel(on_reject)
    rates = _PassRates()
    pairs = Pairs(options.pairs if executed else "off")
    adequacy_filter = any(v is not None for v in (options.min_coverage, options.min_branch_coverage, options.min_kill_rate))
    survivors: list[tuple[Item, Evidence]] = []
    cross_seen = False
    n_format = n_passing = n_quality = n_adequacy = 0
    for entry in items:
        instruction, sample, outcome = entry[0], entry[1], entry[2]
        evidence: Evidence = entry[3] if len(entry) > 3 else NO_EVIDENCE  # type: ignore[misc]
        item: Item = (instruction, sample, outcome)
        cross_seen = cross_seen or evidence.cross is not None
        rates.add(instruction, outcome, sample)
        n_format += 1
        reason = format_reason(sample.data, tests_required=executed)
        if reason:
            funnel.reject("format", sample, reason)
            continue
        if not executed:
            survivors.append((item, evidence))
            continue
        n_passing += 1
        pairs.add(instruction, sample, outcome, evidence.cross)
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
        n_adequacy += 1
        if adequacy_filter:
            reason = _adequacy_reason(evidence, options)
            if reason:
                funnel.reject("test_adequacy", sample, reason)
                continue
        survivors.append((item, evidence))
    if not executed:
        funnel.close("format", n_format, len(survivors))
    else:
        funnel.close("format", n_format, n_passing)
        funnel.close("passing", n_passing, n_quality)
        if options.test_quality_gate:
            funnel.close("test_quality", n_quality, n_adequacy)
        if adequacy_filter:
            funnel.close("test_adequacy", n_adequacy, len(survivors))
    # Sort first so that the choice depends only on the samples, never on the order the runner read them in.
    survivors.sort(key=lambda e: e[0][1].id)
    random.Random(options.shuffle_seed).shuffle(survivors)
    cross_of: dict[str, CrossResult | None] = {item[1].id: ev.cross for item, ev in survivors}
    tally = ConsensusTally()
    current = funnel.apply("one_per_instruction", _choice_order(survivors, options, tally), _one_per_instruction())
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
    kept_ids = {item[1].id for item in current}
    return Selection(
        kept=current,
        rejected=funnel.rejected,
        counts=funnel.counts,
        pairs=pairs.rows(current, cross_of),
        pass_rates=rates.table(),
        consensus=tally.as_dict(options.choose) if cross_seen else None,
        evidence={item[1].id: ev for item, ev in survivors if item[1].id in kept_ids and ev is not NO_EVIDENCE},
    )


# ---------------------------------------------------------------------------------------------------------------
# Outputs


def actual_category(instruction: Record, sample: Record | None) -> str | None:
    """What the response's code is (function, class or program), whatever category the instruction asked for."""
    if sample is None or not isinstance(sample.data.get("solution"), str):
        return None
    from codealign.synth.code import code_kind

    return code_kind(sample.data["solution"], str(instruction.data.get("language") or "python"))


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
        "category_actual": actual_category(instruction, sample),
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
