"""LLM-as-judge scoring through any codealign backend: a rubric prompt, a 1-10 score parsed from the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from codealign.errors import ConfigError
from codealign.measure.base import Context, Metric, MetricResult, distribution
from codealign.measure.data import Item

_SCORE = re.compile(r"score\s*(?:\(1-10\))?\s*[:=]?\s*(\d+(?:\.\d+)?)", re.I)
_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?)\b")
MAX_CHARS = 6000  # per field; a judge needs the gist, not a 50 kB file


def parse_score(text: str, low: int = 1, high: int = 10) -> float | None:
    """The score in a judge's answer: after 'Score:' when present, else the first number; None when out of range."""
    match = _SCORE.search(text) or _NUMBER.search(text)
    if not match:
        return None
    value = float(match.group(1))
    return value if low <= value <= high else None


class JudgeMetric(Metric):
    """A per-record score from a language model on a seeded sample (judging is one call per record)."""

    default = False
    rubric: ClassVar[str] = ""
    key: ClassVar[str] = "score"
    options = ("type", "model", "base_url", "mode", "max_items", "max_tokens")
    type: str = "openai"
    model: str | None = None
    base_url: str | None = None
    mode: str = "chat"
    max_items: int | None = None
    max_tokens: int = 256

    def check(self) -> None:
        if not self.model:
            raise ConfigError(
                f"metric {self.name!r} needs a judge model: --option {self.name}.model=NAME "
                f"(and --option {self.name}.base_url=URL for an OpenAI-compatible server)"
            )

    def prompt(self, item: Item) -> str:
        return (
            f"{self.rubric}\n\n### Instruction\n{item.instruction[:MAX_CHARS]}\n\n"
            f"### Response\n{item.response[:MAX_CHARS]}\n\n"
            "Give one line of reasons, then a last line `Score: N` with N an integer from 1 to 10.\n"
        )

    def compute(self, items: Sequence[Item], ctx: Context) -> MetricResult:
        from codealign.llm import BackendConfig, ChatMessage, Request, SamplingOptions, load_backend

        pick = ctx.sample if self.max_items is None else ctx.sample[: self.max_items]
        backend = load_backend(
            BackendConfig(type=self.type, model=self.model or "", base_url=self.base_url, mode=self.mode),  # type: ignore[arg-type]
            ctx.cache,
        )
        options = SamplingOptions(n=1, temperature=0.0, max_tokens=self.max_tokens, seed=ctx.seed)
        requests = []
        for i in pick:
            text = self.prompt(items[int(i)])
            if self.mode == "chat":
                requests.append(Request(messages=(ChatMessage(role="user", content=text),), options=options))
            else:
                requests.append(Request(prompt=text + "\nReasons:", options=options))
        advance = ctx.progress(f"judge ({self.name})", len(requests))
        scores: list[float | None] = []
        errors = 0
        for start in range(0, len(requests), 64):
            for result in backend.generate(requests[start : start + 64]):
                if result.error or not result.completions:
                    errors += 1
                    scores.append(None)
                else:
                    scores.append(parse_score(result.completions[0].text))
            advance(min(64, len(requests) - start))
        close = getattr(backend, "close", None)
        if close:
            close()
        got = [s for s in scores if s is not None]
        res = self.result()
        res.values[self.key] = float(np.mean(got)) if got else None
        res.values["judged"] = len(got)
        res.values["unparsed"] = len(scores) - len(got) - errors
        res.values["errors"] = errors
        if got:
            res.distributions[self.key] = distribution(got)
        res.notes.append(f"judge: {self.type} model {self.model!r} on {len(requests)} seeded-sampled records")
        return res
