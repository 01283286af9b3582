"""`multipl-e:PATH`: MultiPL-E's translations of HumanEval and MBPP, read from local files, run in every language.

The data is MultiPL-E's own layout (the `nuprl/MultiPL-E` dataset saved as JSONL or Parquet, or the prompt files its
tools write): one problem a row, with `name`, `language` (MultiPL-E's code: `cpp`, `java`, `go_test.go`, `rs`, `js`,
`ts`, `sh`, `py`, ...), `prompt` (a function signature and doc comment, ending inside the body), `tests` (what follows
the completion: the end of the function, then the tests) and `stop_tokens`. PATH is a file or a folder of files
(`humaneval-cpp.jsonl`, `humaneval-rs.jsonl`, ...); tasks are named by `name`, prefixed by the language when the data
holds several. A program is prompt + completion (cut at the first stop token), then the tests, as MultiPL-E builds it, and
runs in the sandbox's runner for its language: a compile error is `syntax`, a pass needs the tests to end. pass@k is
reported overall and per language. Completion mode only: the prompts end inside a function body.
"""

from __future__ import annotations

from pathlib import Path

from codealign.errors import ConfigError, InputError
from codealign.evaluate.base import Benchmark, Task, sha256_bytes

# MultiPL-E's language codes (file extensions, mostly) that differ from the sandbox's names and aliases.
LANGUAGE_CODES = {"go_test.go": "go", "cs": "csharp", "jl": "julia", "lua": "lua", "rkt": "racket", "rb": "ruby"}
_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")


def sandbox_language(code: str) -> str:
    """MultiPL-E's code for a language -> the sandbox's registered name (`rs` -> `rust`, `go_test.go` -> `go`)."""
    from codealign.registry import LANGUAGES

    name = LANGUAGE_CODES.get(code, code).lower()
    return LANGUAGES.entry(name).name if name in LANGUAGES else name


class MultiPLE(Benchmark):
    name = "multipl-e"
    version = "3.0"  # the layout of MultiPL-E 3.x: name, language, prompt, tests, stop_tokens
    language = "multi"
    timeout = 15.0  # MultiPL-E's own per-program limit
    chat = False

    def __init__(self, arg: str | None = None, data: str | Path | None = None) -> None:
        super().__init__(arg, data)
        if not arg and data is None:
            raise ConfigError("the multipl-e benchmark needs its data: --benchmark multipl-e:PATH (a file or folder)")
        self.path = Path(arg).expanduser() if arg else Path(data)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return f"multipl-e:{self.path}"

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.name.endswith(_SUFFIXES))
            if not files:
                raise InputError(f"no MultiPL-E files ({', '.join(_SUFFIXES)}) in {self.path}")
            return files
        if not self.path.exists():
            raise InputError(f"MultiPL-E data not found: {self.path}")
        return [self.path]

    def load(self) -> list[Task]:
        from codealign.evaluate.suites import evalplus_data as ep

        rows, digests = [], []
        for path in self._files():
            if path.suffix == ".parquet":
                from codealign.records import iter_parquet

                found = [dict(r) for r in iter_parquet(path)]
                digests.append(sha256_bytes(path.read_bytes()))
            else:
                found, digest = ep.read_rows(path)
                digests.append(digest)
            rows += [(path, i, row) for i, row in enumerate(found, 1)]
        self.sha256 = digests[0] if len(digests) == 1 else sha256_bytes("".join(digests).encode())
        self.source = str(self.path)
        languages = {sandbox_language(str(row.get("language", ""))) for _, _, row in rows}
        tasks, seen = [], set()
        for path, i, row in rows:
            for key in ("name", "language", "prompt", "tests"):
                if not isinstance(row.get(key), str):
                    raise InputError(f"{path}: row {i} has no `{key}` string (MultiPL-E rows have name, language, "
                                     "prompt, tests, stop_tokens)")  # fmt: skip
            language = sandbox_language(row["language"])
            task_id = row["name"] if len(languages) == 1 else f"{language}/{row['name']}"
            if task_id in seen:
                raise InputError(f"{path}: task {task_id!r} appears twice")
            seen.add(task_id)
            stops = row.get("stop_tokens")
            stops = tuple(str(s) for s in stops) if isinstance(stops, (list, tuple)) else None
            tasks.append(Task(task_id=task_id, prompt=row["prompt"], language=language, tests=row["tests"],
                              stop=stops, canonical_solution=str(row.get("canonical_solution") or ""),
                              data={"name": row["name"], "multipl_e_language": row["language"]}))  # fmt: skip
        return tasks

    def info(self) -> dict:
        info = super().info()
        info["languages"] = sorted({t.language for t in self.tasks()})
        return info

    def from_completion(self, task: Task, text: str) -> str:
        """Prompt + the completion up to its first stop token (MultiPL-E's cut; the server may not have stopped)."""
        cut = len(text)
        for stop in self.stops(task):
            found = text.find(stop)
            if found != -1:
                cut = min(cut, found)
        return task.prompt + text[:cut]

    def tests_for(self, task: Task) -> str:
        return task.tests if task.tests.endswith("\n") else task.tests + "\n"
