"""HumanEval+ (EvalPlus): HumanEval's prompts with the original inputs ("base") and EvalPlus's extra ones ("plus").

A sample passes when its function agrees with the canonical solution on every base and plus input.
"""

from __future__ import annotations

from codealign.errors import InputError
from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.suites import evalplus_data as ep

VERSION = "v0.1.10"
FILE = f"HumanEvalPlus-{VERSION}.jsonl"
HOW = (f"humaneval+ needs EvalPlus's {FILE}.gz (from the humanevalplus_release {VERSION} release on GitHub): "
       "pass --data PATH or set HUMANEVAL_OVERRIDE_PATH")  # fmt: skip


class HumanEvalPlus(Benchmark):
    name = "humaneval+"
    version = VERSION
    timeout = 60.0  # a backstop: each input has its own limit, 4x the canonical solution's time (at least 1 s)
    plus = True

    def load(self) -> list[Task]:
        path = ep.locate(self.data, "HUMANEVAL_OVERRIDE_PATH", FILE)
        if path is not None:
            rows, self.sha256 = ep.read_rows(path)
            self.source = str(path)
        else:
            found = ep.from_hub("evalplus/humanevalplus")
            if found is None:
                raise InputError(HOW)
            rows, self.sha256 = found
            self.source = "hf:evalplus/humanevalplus"
        if any("base_input" not in r for r in rows):
            ep.check_rows(self.source, rows, ("task_id", "prompt", "entry_point", "test"))
        else:
            ep.check_rows(self.source, rows, ("task_id", "prompt", "entry_point", "canonical_solution",
                                              "base_input", "plus_input"))  # fmt: skip
        return [Task(task_id=str(r["task_id"]), prompt=r["prompt"], entry_point=r["entry_point"],
                     tests=r.get("test", ""), canonical_solution=r.get("canonical_solution", ""), data=r)
                for r in rows]  # fmt: skip

    def tests_for(self, task: Task) -> str:
        if "base_input" not in task.data:
            return ep.script_tests(task.tests, task.entry_point)
        return ep.differential_tests(task, "humaneval", plus=self.plus)
