"""MBPP (the sanitized 378-task set as EvalPlus ships it) and MBPP+: base inputs only, or base and EvalPlus's extra.

The prompt is EvalPlus's: the task's description and one example assertion in a docstring; the model writes the
whole function. A sample passes when its function agrees with the canonical solution on every input.
"""

from __future__ import annotations

from codealign.errors import InputError
from codealign.evaluate.base import Benchmark, Task
from codealign.evaluate.suites import evalplus_data as ep

VERSION = "v0.2.0"
FILE = f"MbppPlus-{VERSION}.jsonl"
HOW = (f"{{name}} needs EvalPlus's {FILE}.gz (from the mbppplus_release {VERSION} release on GitHub): "
       "pass --data PATH or set MBPP_OVERRIDE_PATH")  # fmt: skip
# EvalPlus's stops for MBPP completions: the model writes the function after a docstring, so "\ndef " must not stop.
MBPP_STOPS = ('\n"""', "\nassert", "\nif __name__", "\ndef main(", "\nprint(", "\n```", "<|endoftext|>", "</s>")


class Mbpp(Benchmark):
    name = "mbpp"
    version = VERSION
    timeout = 20.0  # a backstop: each input has its own limit, 4x the canonical solution's time (at least 1 s)
    stop = MBPP_STOPS
    plus = False

    def load(self) -> list[Task]:
        path = ep.locate(self.data, "MBPP_OVERRIDE_PATH", FILE)
        if path is not None:
            rows, self.sha256 = ep.read_rows(path)
            self.source = str(path)
        else:
            found = ep.from_hub("evalplus/mbppplus")
            if found is None:
                raise InputError(HOW.format(name=self.name))
            rows, self.sha256 = found
            self.source = "hf:evalplus/mbppplus"
            rows = [_from_hub_row(r, self.plus) for r in rows]
        if all("base_input" in r for r in rows):
            ep.check_rows(self.source, rows, ("task_id", "prompt", "entry_point", "canonical_solution",
                                              "base_input", "plus_input"))  # fmt: skip
        else:
            ep.check_rows(self.source, rows, ("task_id", "prompt", "entry_point", "test"))
        return [Task(task_id=str(r["task_id"]), prompt=r["prompt"], entry_point=r["entry_point"],
                     tests=r.get("test", ""), canonical_solution=r.get("canonical_solution", ""), data=r)
                for r in rows]  # fmt: skip

    def tests_for(self, task: Task) -> str:
        if "base_input" not in task.data:
            return ep.script_tests(task.tests, task.entry_point)
        return ep.differential_tests(task, "mbpp", plus=self.plus)


class MbppPlus(Mbpp):
    name = "mbpp+"
    timeout = 60.0
    plus = True


def _from_hub_row(row: dict, plus: bool) -> dict:
    """A row of the hub's layout (description, code, test_list, test) in the shape the tasks are built from."""
    asserts = list(row.get("test_list") or [])
    code = row.get("code", "")
    entry = ep.entry_point_of(code, asserts[0] if asserts else row.get("test", ""))
    base = "\n".join([*(row.get("test_imports") or []), *asserts]) + "\n"
    example = f"{asserts[0]}\n" if asserts else ""
    return {
        "task_id": f"Mbpp/{row.get('task_id')}",
        "prompt": f'"""\n{row.get("prompt", "").strip()}\n{example}"""\n',
        "entry_point": entry,
        "canonical_solution": code,
        "test": row.get("test", base) if plus else base,
    }
