"""Answers only from the cache: re-run a finished run offline, or prove that nothing would be asked again."""

from __future__ import annotations

from collections.abc import Iterator

from codealign.errors import BackendError
from codealign.llm.backend import Backend, Job, JobResult


class ReplayBackend(Backend):
    name = "replay"

    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        missing = sum(len(job.samples) for job in jobs)
        first = jobs[0].request
        shown = (first.prompt if first.prompt is not None else (first.messages or ())[-1].content)[:60]
        where = getattr(self.cache, "path", None) or "no cache (--no-cache)"
        raise BackendError(
            f"replay: {missing} samples of {len(jobs)} requests for model {self.model_id!r} are not in {where} "
            f"(first prompt starts {shown!r}); run with the backend that made them, or check --cache-dir"
        )
        yield  # pragma: no cover - makes this a generator, like every _generate
