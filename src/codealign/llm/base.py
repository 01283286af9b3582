"""The backend contract: typed requests and results, and the base class every backend implements."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SamplingOptions(BaseModel):
    """How to sample. Unknown options are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(1, ge=1, description="samples per request")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(1536, ge=1, description="maximum new tokens per sample")
    stop: tuple[str, ...] = Field((), description="stop strings; the text is cut before the first one")
    seed: int | None = Field(None, description="per-request seed; a rerun with the same seed reproduces the text")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class Request(BaseModel):
    """A completion-mode prompt or a list of chat messages, plus sampling options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    options: SamplingOptions = SamplingOptions()

    @model_validator(mode="after")
    def _one_input(self) -> Request:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a request holds exactly one of `prompt` (completion mode) or `messages` (chat mode)")
        return self

    @property
    def mode(self) -> Literal["completion", "chat"]:
        return "completion" if self.prompt is not None else "chat"


FinishReason = Literal["stop", "length", "error"]


class Completion(BaseModel):
    """One sample: its text and why generation ended."""

    model_config = ConfigDict(extra="forbid")

    text: str
    finish_reason: FinishReason = "stop"
    index: int = Field(0, ge=0, description="the sample index within its request (0 .. n-1)")


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Result(BaseModel):
    """The answer to one request: `n` completions (fewer only when `error` is set), usage and latency.

    Completions are in sample-index order; when `error` is set the failed samples are absent, so read each
    completion's `index` rather than its position.
    """

    model_config = ConfigDict(extra="forbid")

    completions: list[Completion] = []
    usage: Usage = Usage()
    latency: float = 0.0
    cached: int = Field(0, description="how many of the completions came from the cache")
    error: str | None = Field(None, description="why the request failed after all retries; recorded, never raised")
