"""Which benchmark tasks appear in a training set (`--train-data`), through the decontamination index.

Every string field of every row (a run directory means its `final/sft.jsonl`) is checked against the tasks'
prompts, docstrings and canonical solutions: normalised substrings and shared informative word 10-grams.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codealign.evaluate.base import Benchmark


def _strings(value: Any, out: list[str]) -> list[str]:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    return out


def train_overlap(bench: Benchmark, train_data: str | Path, ngram: int = 10) -> dict[str, Any]:
    """`{train_data, rows_checked, bad_lines, tasks: {task_id: {rows, kinds, example}}}`."""
    from codealign.curate.decontam import Decontaminator
    from codealign.measure.data import resolve_input
    from codealign.records import BadLine, iter_rows

    path = resolve_input(train_data)
    index = Decontaminator(ngram=ngram, problems={bench.label: bench.problems()})
    tasks: dict[str, dict[str, Any]] = {}
    bad: list[BadLine] = []
    rows = 0
    for row in iter_rows(path, bad):
        rows += 1
        hits: dict[str, Any] = {}
        for text in _strings(row, []):
            for match in index.find(text):
                hits.setdefault(match.task_id, set()).add(match.kind)
                entry = tasks.setdefault(match.task_id, {"rows": 0, "kinds": set(), "example": match.snippet})
                entry["kinds"].add(match.kind)
        for task_id in hits:
            tasks[task_id]["rows"] += 1
    order = {t.task_id: i for i, t in enumerate(bench.tasks())}
    return {
        "train_data": str(path),
        "rows_checked": rows,
        "bad_lines": len(bad),
        "tasks": {t: {**v, "kinds": sorted(v["kinds"])} for t, v in sorted(tasks.items(), key=lambda kv: order.get(kv[0], 0))},
    }
