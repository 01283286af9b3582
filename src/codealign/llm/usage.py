"""Usage accounting for a backend: requests, backend calls, tokens, cache hits, errors, latency and throughput."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


@dataclass
class UsageMeter:
    """Counters for one backend's lifetime. `samples` counts freshly generated samples; cached ones are `cache_hits`."""

    requests: int = 0
    calls: int = 0
    samples: int = 0
    cache_hits: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    busy_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def record(self, calls: int, prompt_tokens: int, completion_tokens: int, latency: float, samples: int,
               error: str | None) -> None:
        self.calls += calls
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.samples += samples
        self.latencies.append(latency)
        if error is not None:
            self.errors += 1

    def as_dict(self) -> dict[str, Any]:
        busy = self.busy_seconds
        return {
            "requests": self.requests,
            "backend_calls": self.calls,
            "samples_generated": self.samples,
            "cache_hits": self.cache_hits,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_p50_s": round(_percentile(self.latencies, 50), 4),
            "latency_p95_s": round(_percentile(self.latencies, 95), 4),
            "busy_s": round(busy, 3),
            "tokens_per_s": round(self.completion_tokens / busy, 2) if busy > 0 else 0.0,
        }

    def save(self, path: str | os.PathLike) -> Path:
        from codealign.records import AtomicWriter

        p = Path(path)
        with AtomicWriter(p) as fh:
            fh.write(json.dumps(self.as_dict(), indent=2) + "\n")
        return p

    def table(self, title: str = "LLM usage") -> Any:
        """A rich Table of the figures, for the end of a job."""
        from rich.table import Table

        table = Table(title=title, show_header=True)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in self.as_dict().items():
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else f"{value:,.4g}")
        return table
