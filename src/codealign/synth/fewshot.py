"""Few-shot prompts shared by every method: a short system paragraph, k examples drawn from a pool, then the item.

In completion mode (base models) the examples are `## Example i` blocks and the model continues the last one; in
chat mode the same content is sent as system, user/assistant pairs and a final user message. The item at position
`index` draws its examples (and anything else random about its prompt) from `random.Random(item_seed)` and is
sampled with that seed, so every prompt and every request is reproducible. Templates and pools are package data in
`synth/prompts/` (a JSON file of templates per method, a JSONL pool of hand-written examples).
"""

from __future__ import annotations

import json
import random
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from codealign.config import StrictModel
from codealign.errors import ConfigError
from codealign.llm.base import ChatMessage, Request, SamplingOptions
from codealign.records import Record, content_hash, iter_jsonl
from codealign.synth.base import LLMStage

if TYPE_CHECKING:
    from codealign.synth.base import Method, Mode

PROMPTS = Path(__file__).parent / "prompts"


class GenerationOptions(StrictModel):
    """Sampling options every method has; each method's own Options adds to these."""

    seed: int = Field(3407, description="base seed; the item at position i uses seed + i")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(1536, ge=1, description="maximum new tokens per sample")


def load_templates(name: str | Path) -> dict[str, Any]:
    """A templates file: a name in prompts/ (without .json) or a path."""
    path = Path(name) if Path(name).suffix == ".json" else PROMPTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def load_pool(source: str | Path, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The few-shot examples of a JSONL pool; every one must have all of `fields`."""
    source = Path(source)
    pool = list(iter_jsonl(source))
    for i, example in enumerate(pool, 1):
        missing = [f for f in fields if not example.get(f)]
        if missing:
            raise ConfigError(f"{source}: example {i} lacks {', '.join(missing)}")
    if not pool:
        raise ConfigError(f"{source}: the few-shot pool is empty")
    return pool


def prompt_set_hash(parts: dict[str, Any]) -> str:
    """Hash of the templates and pools a method uses (goes into provenance): changes whenever any prompt could."""
    return content_hash(parts, 16)


def item_seed(seed: int, index: int, round: int = 0) -> int:
    """The seed of item `index` in round `round`: `seed + index` in the first round (the paper's rule), a hash after."""
    if round == 0:
        return seed + index
    return int(content_hash(f"{seed}:{index}:{round}", 8), 16) % (2**31 - 1)


def render(template: str, fields: dict[str, Any]) -> str:
    return template.format(**fields)


class FewShotStage(LLMStage):
    """A stage whose prompt is `system`, k examples of `input` + `output` drawn from a pool, then the item's `input`.

    Subclasses say what the item's template fields are (`item_fields`); the stage's templates are the section
    `key` of the method's templates file, which also holds `example_heading`.
    """

    key: ClassVar[str]  # the stage's section in the templates file

    def __init__(
        self,
        method: Method,
        shots: int,
        samples: int,
        stop: tuple[str, ...],
        templates: dict[str, Any] | None = None,
        pool: list[dict[str, Any]] | None = None,
        options: GenerationOptions | None = None,
    ) -> None:
        self.method = method
        self.shots = shots
        self.samples = samples
        self.stop = stop
        self.templates = templates if templates is not None else method.templates  # type: ignore[attr-defined]
        self.template = self.templates["stages"][self.key]
        self._pool = pool
        self.gen = options if options is not None else method.options

    @property
    def pool(self) -> list[dict[str, Any]]:
        return self._pool if self._pool is not None else self.method.pool  # type: ignore[attr-defined]

    @property
    def mode(self) -> Mode:
        return self.method.mode_of(self.backend)

    @abstractmethod
    def item_fields(self, record: Record, rng: random.Random) -> dict[str, Any]:
        """The template fields of the current item; may draw from `rng` (always before the examples are drawn)."""

    def example_fields(self, example: dict[str, Any]) -> dict[str, Any]:
        fields = dict(example)
        if isinstance(example.get("concepts"), list):
            fields["concepts"] = ", ".join(example["concepts"])
        return fields

    def examples(self, record: Record, rng: random.Random) -> list[dict[str, Any]]:
        return rng.sample(self.pool, min(self.shots, len(self.pool)))

    def sampling(self, index: int, round: int = 0) -> SamplingOptions:
        gen = self.gen
        return SamplingOptions(
            n=self.samples,
            temperature=gen.temperature,
            top_p=gen.top_p,
            max_tokens=gen.max_tokens,
            stop=self.stop,
            seed=item_seed(gen.seed, index, round),
        )

    def request(self, record: Record, index: int, round: int = 0) -> Request:
        rng = random.Random(item_seed(self.gen.seed, index, round))
        fields = self.item_fields(record, rng)
        examples = self.examples(record, rng)
        system = self.template["system"]
        item = render(self.template["input"], fields)
        options = self.sampling(index, round)
        if self.mode == "chat":
            messages = [ChatMessage(role="system", content=system)]
            for example in examples:
                ex = self.example_fields(example)
                messages.append(ChatMessage(role="user", content=render(self.template["input"], ex)))
                messages.append(ChatMessage(role="assistant", content=render(self.template["output"], ex)))
            messages.append(ChatMessage(role="user", content=item))
            return Request(messages=tuple(messages), options=options)
        heading = self.templates["example_heading"]
        parts = [system.strip() + "\n\n"]
        for number, example in enumerate(examples, 1):
            ex = self.example_fields(example)
            parts.append(heading.format(number=number) + render(self.template["input"], ex))
            parts.append(render(self.template["output"], ex) + "\n")
        parts.append(heading.format(number=len(examples) + 1) + item)
        return Request(prompt="".join(parts), options=options)
