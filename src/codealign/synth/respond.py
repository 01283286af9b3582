"""The instruction -> response stage every method shares: SelfCodeAlign's I->R, with tests or without.

With tests (the default of every method here, as SelfCodeAlign's ablations ran OSS-Instruct and Evol-Instruct) the
prompt is the paper's: the response, then `</response>` and a tests section of asserts, 1-shot from the
SelfCodeAlign pool, stopped at `</tests>`; the samples go through the sandbox. Without tests (the original
OSS-Instruct and Evol-Instruct, which validated nothing) the same prompt ends at `</response>`.
"""

from __future__ import annotations

import random
import re
from functools import cache
from typing import Any

from codealign.records import Record
from codealign.synth.base import Method, ParseError
from codealign.synth.fewshot import FewShotStage, GenerationOptions, load_templates
from codealign.synth.parse import _cut_next_example
from codealign.synth.selfcodealign import ResponseStage, load_pool

TESTS_STOP = ("## Example", "</tests>")
PLAIN_STOP = ("## Example", "</response>")


@cache
def _templates(with_tests: bool) -> dict[str, Any]:
    return load_templates("selfcodealign" if with_tests else "respond")


@cache
def _pool() -> tuple[dict[str, Any], ...]:
    return tuple(load_pool())


def prompt_parts(with_tests: bool) -> dict[str, Any]:
    """What the response prompts are made of, for a method's prompt-set hash."""
    return {"templates": _templates(with_tests)["stages"]["response"], "pool": list(_pool())}


class PlainResponseStage(FewShotStage):
    """I->R without tests: the sample's `tests` is empty and it is never executed."""

    name = "response"
    consumes = "instruction"
    produces = ("sample",)
    key = "response"

    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        return {"instruction": record.data["instruction"]}

    def parse(self, text: str, record: Record, index: int, sample_index: int, round: int = 0) -> dict[str, Any] | ParseError:
        body = _cut_next_example(text).split("</response>", 1)[0]
        body = re.sub(r"^\s*<response>\s*\n", "", body).strip()
        if not body:
            return ParseError("empty_response", text)
        return {"response": text, "solution": body, "tests": "", "sample_index": sample_index}


def response_stage(
    method: Method,
    options: GenerationOptions,
    shots: int,
    samples: int,
    with_tests: bool,
    classes: tuple[type[FewShotStage], type[FewShotStage]] = (ResponseStage, PlainResponseStage),
) -> FewShotStage:
    """The response stage of `method`, sampled with `options` (seed, temperature, top_p, max_tokens).

    `classes` are the stage classes to use with and without tests (a method may subclass them).
    """
    cls = classes[0] if with_tests else classes[1]
    stop = TESTS_STOP if with_tests else PLAIN_STOP
    return cls(method, shots, samples, stop, templates=_templates(with_tests), pool=list(_pool()), options=options)
