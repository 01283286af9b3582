"""Language-model backends behind one contract (see `codealign.llm.base` for the request and result types).

    backend = load_backend(BackendConfig(type="openai", model="m", base_url="http://127.0.0.1:8000/v1"), cache)
    results = backend.generate([Request(prompt="def add(a, b):")])

Backends are registry entries (`codealign.registry.BACKENDS`); heavy libraries are imported only when a backend loads.
"""

from __future__ import annotations

from typing import Any

from codealign.llm.backend import Backend, BackendConfig, Job, JobResult, derive_seed, sample_key
from codealign.llm.base import ChatMessage, Completion, Request, Result, SamplingOptions, Usage
from codealign.llm.usage import UsageMeter

__all__ = [
    "Backend",
    "BackendConfig",
    "ChatMessage",
    "Completion",
    "Job",
    "JobResult",
    "Request",
    "Result",
    "SamplingOptions",
    "Usage",
    "UsageMeter",
    "derive_seed",
    "load_backend",
    "sample_key",
]


def load_backend(config: BackendConfig | dict[str, Any], cache: Any = None) -> Backend:
    """The backend named by `config.type`, wrapped around `cache` (None: no caching). Weights load on first use."""
    from codealign.config import build
    from codealign.registry import BACKENDS

    if isinstance(config, dict):
        config = build(BackendConfig, config, "backend config")
    cls = BACKENDS.get(config.type)
    return cls(config, cache)
