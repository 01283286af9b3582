"""EvalPlus's data format and its differential tests, shared by `humaneval+`, `mbpp` and `mbpp+`.

A release file (JSONL, optionally gzipped) has one task per line: `task_id`, `prompt`, `entry_point`,
`canonical_solution`, `base_input` (the original benchmark's inputs), `plus_input` (EvalPlus's extra inputs) and
`atol`. A sample passes when, on every input, its function returns what the canonical solution returns (floats within
`atol`, at least 1e-6), under EvalPlus's per-input time limit of max(1 s, 4x the canonical solution's time). Rows in
the Hugging Face dataset layout (a `test` field holding a `check` function) are run as that check instead.

Where the file comes from, in order: `--data PATH`; the override variable EvalPlus itself reads
(`HUMANEVAL_OVERRIDE_PATH`, `MBPP_OVERRIDE_PATH`); EvalPlus's own download cache; the Hugging Face hub, when the
`datasets` package is installed and the hub answers.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from codealign.errors import InputError
from codealign.evaluate.base import Task, sha256_bytes

# MBPP+ stores tuples, sets and complex numbers as JSON lists and strings; EvalPlus turns them back per task number.
# Each kind names one conversion, applied inside the sandbox (see HARNESS); the task numbers are EvalPlus's.
MBPP_INPUT_KINDS: dict[str, tuple[int, ...]] = {
    "args_to_tuples": (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726,
                       740, 744, 809),
    "args_to_lists_of_tuples": (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
    "first_to_list_of_tuples": (75, 413, 444, 753),
    "second_to_tuple": (106, 750),
    "first_to_sets": (115,),
    "float_complex": (124,),
    "first_to_tuple": (250, 405, 446, 617, 720, 763, 808),
    "args_to_tuples_of_tuples": (259, 401, 445),
    "first_to_tuple_of_tuples": (278,),
    "first_to_tuple_keep_rest": (307,),
    "dict_values_to_tuples": (722,),
    "complex": (252,),
    "all_to_tuples": (580, 615, 791),
}  # fmt: skip
_KIND_OF = {number: kind for kind, numbers in MBPP_INPUT_KINDS.items() for number in numbers}

# Runs in a namespace of its own with the real builtins, so a completion that rebinds `len` or `isinstance` at
# module level cannot change the verdict.
HARNESS = r'''
import copy, json, math, signal, time

NOT_NONE = ("check_str", "text_match_three", "text_starta_endb")
SET_EQUAL = ("similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
             "intersection_array", "find_dissimilar", "Diff")
PLAIN = (int, float, complex, str, bytes, bool, type(None), list, tuple, set, frozenset, dict)


def tuples(value):
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value


def convert(kind, inputs):
    if kind == "args_to_tuples":
        return [[tuple(a) for a in inp] for inp in inputs]
    if kind == "args_to_lists_of_tuples":
        return [[[tuple(x) for x in a] for a in inp] for inp in inputs]
    if kind == "first_to_list_of_tuples":
        return [[[tuple(x) for x in inp[0]], inp[1]] for inp in inputs]
    if kind == "second_to_tuple":
        return [[inp[0], tuple(inp[1])] for inp in inputs]
    if kind == "first_to_sets":
        return [[[set(x) if isinstance(x, list) and x else {} for x in inp[0]]] for inp in inputs]
    if kind == "float_complex":
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if kind == "first_to_tuple":
        return [[tuple(inp[0]), inp[1]] for inp in inputs]
    if kind == "args_to_tuples_of_tuples":
        return [[tuple(tuple(x) for x in a) for a in inp] for inp in inputs]
    if kind == "first_to_tuple_of_tuples":
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if kind == "first_to_tuple_keep_rest":
        return [[tuple(inp[0]), inp[1], inp[2]] for inp in inputs]
    if kind == "dict_values_to_tuples":
        return [[{k: tuple(v) for k, v in inp[0].items()}, *inp[1:]] for inp in inputs]
    if kind == "complex":
        return [[complex(inp[0])] for inp in inputs]
    if kind == "all_to_tuples":
        return [tuples(inp) for inp in inputs]
    return inputs


def plain(value):
    stack = [value]
    while stack:
        item = stack.pop()
        cls = type(item)
        if not any(cls is p for p in PLAIN):
            return False
        if cls is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif cls in (list, tuple, set, frozenset):
            stack.extend(item)
    return True


def floats(value):
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, float) for v in value)


def close(out, exp, atol, rtol=1e-7):
    if isinstance(exp, (list, tuple)):
        return isinstance(out, (list, tuple)) and len(out) == len(exp) and all(
            close(o, e, atol, rtol) for o, e in zip(out, exp))
    try:
        return abs(out - exp) <= atol + rtol * abs(exp)
    except TypeError:
        return False


def poly(xs, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def pyramid_area(base_edge, height):
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def padded_digit_distance(a, b):
    x, y = str(a), str(b)
    width = max(len(x), len(y))
    return sum(abs(int(p) - int(q)) for p, q in zip(x.zfill(width), y.zfill(width)))


def verdict(dataset, entry, args, out, exp, atol):
    exact = out == exp
    if dataset == "mbpp":
        if entry == "are_equivalent":
            exact = True
        elif entry == "sum_div":
            exact = exact or out == 0
        elif entry == "surface_Area":
            exact = exact or abs(out - pyramid_area(*args)) <= atol
        elif entry == "digit_distance_nums":
            exact = exact or out == padded_digit_distance(*args)
        elif entry in SET_EQUAL:
            exact = set(out) == set(exp)
        elif entry in NOT_NONE:
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
    if dataset == "humaneval" and entry == "find_zero":
        return abs(poly(*args, out)) <= atol
    if atol == 0 and floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        return type(out) is type(exp) and close(out, exp, atol)
    return bool(exact)


class Slow(Exception):
    pass


def alarm(signum, frame):
    raise Slow()


def run(candidate, reference_source, entry, inputs_json, kind, atol, dataset, label):
    namespace = {}
    exec(reference_source, namespace)
    reference = namespace[entry]
    inputs = convert(kind, json.loads(inputs_json))
    signal.signal(signal.SIGALRM, alarm)
    for i, args in enumerate(inputs):
        started = time.perf_counter()
        exp = reference(*copy.deepcopy(args))
        limit = max(1.0, 4.0 * (time.perf_counter() - started))
        if dataset == "mbpp" and entry in NOT_NONE:
            exp = exp is not None
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            out = candidate(*copy.deepcopy(args))
        except Slow:
            raise TimeoutError(f"{label} input {i}: no result within {limit:.2f}s") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if plain(exp) and not plain(out):
            raise TypeError(f"{label} input {i}: the function returned an instance of a non-builtin type")
        if not verdict(dataset, entry, args, out, exp, atol):
            shown = repr(args)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise AssertionError(f"{label} input {i} {shown}: wrong result")
'''

# The first lines of the tests: the real builtins, reached through a class of the always-loaded `os` module
# (attribute access only, so nothing the completion rebinds is used), then the harness in a namespace of its own.
PREAMBLE = (
    "__ca_b = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
    ".__init__.__globals__['__builtins__']\n"
    "__ca_h = {'__builtins__': __ca_b}\n"
    "__ca_b['exec'](HARNESS_LITERAL, __ca_h)\n"
)


def differential_tests(task: Task, dataset: str, plus: bool) -> str:
    """Tests comparing the entry point with the canonical solution on the base (and, with `plus`, extra) inputs."""
    raw = task.data
    reference = raw["prompt"] + raw["canonical_solution"]
    kind = _KIND_OF.get(_task_number(task.task_id), "") if dataset == "mbpp" else ""
    atol = float(raw.get("atol") or 0)
    lines = [PREAMBLE.replace("HARNESS_LITERAL", repr(HARNESS))]
    groups = [("base", raw.get("base_input") or [])] + ([("plus", raw.get("plus_input") or [])] if plus else [])
    for label, inputs in groups:
        lines.append(
            f"__ca_h['run']({task.entry_point}, {reference!r}, {task.entry_point!r}, {json.dumps(inputs)!r}, "
            f"{kind!r}, {atol!r}, {dataset!r}, {label!r})\n"
        )
    return "".join(lines)


def _task_number(task_id: str) -> int:
    try:
        return int(str(task_id).rsplit("/", 1)[-1])
    except ValueError:
        return -1


def read_rows(path: Path) -> tuple[list[dict[str, Any]], str]:
    """Rows of a JSONL or JSONL.gz file and the SHA-256 of its decompressed bytes."""
    if not path.exists():
        raise InputError(f"benchmark data file not found: {path}")
    raw = path.read_bytes()
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise InputError(f"{path}: not a readable gzip file ({exc})") from None
    rows = []
    for lineno, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object")
        rows.append(row)
    return rows, sha256_bytes(raw)


def locate(data: Path | None, env: str, cache_name: str) -> Path | None:
    """`--data`, else the override variable, else EvalPlus's download cache, else None."""
    if data is not None:
        return data
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        return None
    cached = Path(user_cache_dir("evalplus")) / cache_name
    return cached if cached.exists() else None


def from_hub(repo: str, config: str | None = None) -> tuple[list[dict[str, Any]], str] | None:
    """Rows of a Hugging Face dataset's test split and a hash of them; None when `datasets` is not installed, the
    hub is switched off (HF_HUB_OFFLINE=1) or does not answer within a few seconds."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return None
    try:
        import datasets
    except ImportError:
        return None
    from codealign.hub import unreachable

    if unreachable() is not None:
        return None
    try:
        rows = [dict(r) for r in datasets.load_dataset(repo, config, split="test")]
    except Exception:  # noqa: BLE001 - any failure to reach or read the hub means "not available here"
        return None
    text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows)
    return rows, sha256_bytes(text.encode())


def check_rows(path: str, rows: list[dict[str, Any]], need: tuple[str, ...]) -> None:
    for i, row in enumerate(rows, 1):
        missing = [k for k in need if k not in row]
        if missing:
            raise InputError(f"{path}: task {i} ({row.get('task_id', '?')}) lacks {', '.join(missing)}; "
                             "expected EvalPlus's format (task_id, prompt, entry_point, canonical_solution, "
                             "base_input, plus_input, atol)")  # fmt: skip


def script_tests(test: str, entry_point: str) -> str:
    """A test script as rows in the hub layout give it: a `check` function is called on the entry point."""
    from codealign.evaluate.suites.humaneval import check_call

    if "def check(" in test and f"check({entry_point})" not in test:
        return check_call(test, entry_point)
    return test + "\n"


def entry_point_of(code: str, test: str) -> str:
    """The function of `code` that `test` calls (MBPP rows name no entry point)."""
    import ast
    import re

    try:
        names = [n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    except SyntaxError:
        names = re.findall(r"^def\s+(\w+)", code, re.M)
    called = [n for n in names if re.search(rf"\b{re.escape(n)}\s*\(", test)]
    return (called or names or [""])[0]

