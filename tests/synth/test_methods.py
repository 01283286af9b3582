"""The other methods' prompts and parsers on hand-built answers: what each keeps, and what it rejects and why."""

import random
import re

import pytest

from codealign.errors import ConfigError
from codealign.records import Record
from codealign.registry import METHODS
from codealign.synth.base import GENERATOR, TEACHER, LLMStage, Out, ParseError
from codealign.synth.evol_instruct import EvolInstruct, elimination_reason, struggle_reason
from codealign.synth.oss_instruct import OssInstruct, copies_problem_code, draw_snippet, split_sections
from codealign.synth.self_instruct import SelfInstruct, split_tasks
from codealign.synth.tasks import SeedTasks, seed_task

FUNCTION = 'def running_mean(values, window):\n    """Return the mean of each window of `window` values.\n\n    More.\n    """\n    return values\n'
SEED = Record("seed", {"seed": FUNCTION})
TASK = Record("instruction", {"instruction": seed_task(FUNCTION), "language": "python", "round": 0}, parents=(SEED.id,))


def test_registry_lists_every_method_and_each_builds_in_both_modes():
    assert {"selfcodealign", "oss-instruct", "evol-instruct", "self-instruct", "distill"} <= set(METHODS.names())
    for name in METHODS.names():
        for mode in ("completion", "chat"):
            method = METHODS.get(name)(mode=mode)
            assert method.stages[0].consumes == "seed"
            made = {"seed"}
            for stage in method.stages:  # every stage reads a kind an earlier stage made
                assert stage.consumes in made, (name, stage.name)
                made |= set(stage.produces)
            assert {"instruction", "sample"} <= made


# ---------------------------------------------------------------------------------------------------------------
# seeds as tasks


@pytest.mark.parametrize(
    ("seed", "task"),
    [
        (FUNCTION, "Write a Python function `running_mean(values, window)`. Return the mean of each window of `window` values."),
        ('class Stack:\n    """A last-in first-out stack"""\n    pass\n', "Write a Python class `Stack`. A last-in first-out stack."),
        ("def f(x):\n    return x\n", None),  # code with no docstring says no task
        ("Write a function to add two numbers.", "Write a function to add two numbers."),  # a Code Alpaca row
        ("  Sort\n a   list of names by surname ", "Sort a list of names by surname"),
        ("hi there", None),
    ],
)
def test_seed_task(seed, task):
    assert seed_task(seed) == task
    made = SeedTasks().apply(Record("seed", {"seed": seed}), 0)
    assert made == ParseError("no_task_in_seed", seed) if task is None else made["instruction"] == task


# ---------------------------------------------------------------------------------------------------------------
# OSS-Instruct


def test_snippets_are_1_to_15_consecutive_lines_of_the_seed():
    text = "\n".join(f"line {i}" for i in range(40))
    for seed in range(300):
        snippet = draw_snippet(text, random.Random(seed), 1, 15).splitlines()
        assert 1 <= len(snippet) <= 15
        first = int(snippet[0].split()[1])
        assert snippet == [f"line {i}" for i in range(first, first + len(snippet))]
    assert draw_snippet("only\ntwo", random.Random(1), 1, 15) in ("only", "two", "only\ntwo")


ANSWER = (
    "Write a Python function `clamp_all(values, low, high)` that limits every number to [low, high].\n\n"
    "[Solution]\nUse min and max.\n\n```python\ndef clamp_all(values, low, high):\n    return [max(low, min(high, v)) for v in values]\n```\n\n"
    "[Tests]\n```python\nassert clamp_all([-1, 5], 0, 3) == [0, 3]\n```\n\n## Example 3\n[Code Snippet]\nx = 1\n"
)


def test_oss_problem_and_solution_come_from_one_answer():
    method = OssInstruct()
    stage = method.stage("problem")
    assert stage.produces == ("instruction", "sample")
    out = stage.parse(ANSWER, SEED, 0, 0)
    assert isinstance(out, Out) and out.kind == "instruction"
    assert out.data["instruction"].startswith("Write a Python function `clamp_all")
    assert out.data["snippet"] in FUNCTION
    (sample,) = out.children
    assert sample.kind == "sample" and "def clamp_all" in sample.data["solution"] and "assert" in sample.data["tests"]
    assert "## Example" not in sample.data["tests"]
    chat = stage.parse("[Problem Description]\n" + ANSWER, SEED, 0, 0)  # a chat model repeats the heading
    assert isinstance(chat, Out) and chat.data["instruction"] == out.data["instruction"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Too short.\n\n[Solution]\n```python\nx = 1\n```\n[Tests]\n```python\nassert x\n```", "no_problem"),
        ("Write a Python function `f(x)` that doubles a number.\n\n[Tests]\n```python\nassert f(1) == 2\n```", "no_solution"),
        (ANSWER.split("[Tests]")[0], "no_tests"),
        (
            "Fix this function `f(x)` so it returns twice x:\n\n```python\ndef f(x):\n    return x * 2\n```\n\n"
            "[Solution]\nIt is fine.\n\n```python\ndef f(x):\n    return x * 2\n```\n\n[Tests]\n```python\nassert f(2) == 4\n```",
            "solution_copies_problem",
        ),
    ],
)
def test_oss_rejects(answer, reason):
    assert OssInstruct().stage("problem").parse(answer, SEED, 0, 0) == ParseError(reason, answer)


def test_oss_without_tests_asks_for_none_and_is_not_executed():
    method = OssInstruct({"tests": False})
    assert not method.executes
    prompt = method.stage("problem").request(SEED, 0).prompt
    assert "[Tests]" not in prompt and "[Solution]" in prompt
    out = method.stage("problem").parse(ANSWER.split("[Tests]")[0], SEED, 0, 0)
    assert isinstance(out, Out) and out.children[0].data["tests"] == ""
    assert copies_problem_code("```python\nx = 1\n```", "```python\nx  =  1\n```")
    assert split_sections("p\n[SOLUTION]\ns\n[tests]\nt") == {"problem description": "p", "solution": "s", "tests": "t"}


# ---------------------------------------------------------------------------------------------------------------
# Evol-Instruct

ORIGINAL = "Write a Python function `average(numbers)` that returns the mean of a list of numbers."


@pytest.mark.parametrize(
    ("evolved", "reason"),
    [
        # The evolution copies the evolving prompt's own words instead of rewriting the task.
        ("#Rewritten Prompt#: Write a Python function `average(numbers)` that also skips None values.", "copies_evolving_prompt"),
        ("Harder task: Write a Python function `average(numbers)` that also skips None values.", "copies_evolving_prompt"),
        ("Rewrite the given prompt so that `average(numbers)` ignores None values in the list.", "copies_evolving_prompt"),
        # It stopped being a task: the model answered it.
        ("Here is a harder version solved:\n```python\ndef average(n):\n    return sum(n) / len(n)\n```", "not_a_task"),
        ("```python\ndef average(numbers):\n    return sum(numbers) / len(numbers)\n```", "not_a_task"),
        ("def average(numbers): return sum(numbers) / len(numbers)  # skips nothing at all here", "not_a_task"),
        ("Sure, I can make it harder: the function must also round the mean to two places.", "not_a_task"),
        # Nothing new: the same task, or one word more.
        (ORIGINAL, "no_information_gain"),
        ("Write a Python function `average(numbers)` that returns the mean of a list of numbers quickly.", "no_information_gain"),
        # Real evolutions, one with an erroneous code reference.
        ("Write a Python function `average(numbers)` that returns the mean of a list, skipping None values and "
         "raising ValueError when no number is left.", None),
        ("Write a Python function `average(numbers)` that returns the mean of a list of numbers. This attempt is "
         "wrong:\n\n```python\ndef average(numbers):\n    return sum(numbers) / len(numbers) if numbers else 0\n```", None),
    ],
)
def test_evolution_elimination(evolved, reason):
    assert elimination_reason(ORIGINAL, evolved) == reason


def test_evolve_stage_rounds_retry_an_eliminated_task_and_record_the_round():
    method = EvolInstruct({"rounds": 3})
    stage = method.stage("evolve")
    assert stage.rounds == 3 and stage.produces == ("instruction",)
    prompts = [stage.request(TASK, 5, r).prompt for r in range(3)]
    assert len(set(prompts)) == 3  # each round draws its own evolution and examples
    assert all(p.endswith("### Task\n" + TASK.data["instruction"] + "\n\n### Method\n" + p.split("### Method\n")[-1]) for p in prompts)
    method_line = prompts[0].split("### Method\n")[-1].split("\n")[0]
    assert method_line in method.templates["methods"].values()
    assert re.findall(r"^## Example (\d+)$", prompts[0], re.M) == ["1", "2", "3", "4"]

    bad = stage.parse("#Rewritten Prompt#: Write the running mean function again, harder.", TASK, 5, 0, 0)
    assert bad.reason == "copies_evolving_prompt"
    assert stage.next_round(TASK, 5, 0, []) is TASK  # eliminated: back to the pool, tried again next round
    good = stage.parse(
        "Write a Python function `running_mean(values, window)` that returns the mean of each window, in O(n) time, "
        "raising ValueError for a window larger than the list.\n\n## Example 4\n### Task\n", TASK, 5, 0, 1
    )
    assert good["round"] == 2 and good["evolution"] in method.options.evolutions and "## Example" not in good["instruction"]
    evolved = Record("instruction", good, parents=(TASK.id,))
    assert stage.next_round(TASK, 5, 1, [evolved]) is evolved


def test_evol_response_side_elimination():
    assert struggle_reason("I'm sorry, but I cannot write that function.") == "model_struggles"
    assert struggle_reason("the of and , . ; it") == "stop_words_only"
    assert struggle_reason("Sorry for the long answer: " + "we count each word and sort. " * 20) is None
    stage = EvolInstruct().stage("response")
    text = "Sorry, I cannot help with that task.\n</response>\n\n<tests>\n```python\nassert True\n```"
    assert stage.parse(text, TASK, 0, 0) == ParseError("model_struggles", text)
    ok = "Average.\n\n```python\ndef average(n):\n    return sum(n) / len(n)\n```\n</response>\n\n<tests>\n```python\nassert average([2]) == 2\n```"
    assert stage.parse(ok, TASK, 0, 0)["tests"]
    with pytest.raises(ConfigError, match="unknown evolution 'deepen'"):
        EvolInstruct({"evolutions": ["deepen"]})


# ---------------------------------------------------------------------------------------------------------------
# Self-Instruct

HUMANS = [
    "Write a Python function `is_leap_year(year)` that tells whether a year is a leap year.",
    "Write a Python function `chunk(items, size)` that splits a list into lists of at most `size` items.",
    "Write a Python class `Stack` with push, pop and peek methods.",
]


def bootstrap(**options):
    method = SelfInstruct({"builtin_tasks": False, **options})
    stage = method.stage("bootstrap")
    seeds = [Record("instruction", {"instruction": t}) for t in HUMANS]
    stage.start(lambda kind: iter(seeds if kind == "instruction" else []))
    return method, stage, seeds


def test_split_tasks_reads_completion_and_chat_answers():
    assert split_tasks(" First task here.\nTask 10: Second one.\nTask 11: Third\n  continues.") == [
        "First task here.", "Second one.", "Third continues."]  # fmt: skip
    assert split_tasks("Task 9: A.\n10. B.\n\nTask 12: C.") == ["A.", "B.", "C."]


def test_novelty_and_keyword_filters_on_hand_built_tasks():
    _, stage, seeds = bootstrap()
    answer = "\n".join([
        " Write a Python function `is_leap_year(year)` that tells whether a given year is a leap year.",  # near-copy
        "Task 10: Write a Python function `merge_sorted(a, b)` that merges two sorted lists into one sorted list.",
        "Task 11: Write a Python function `merge_sorted(a, b)` that merges two sorted lists into a sorted list.",  # near-copy of 10
        "Task 12: Write a program that plots the prime numbers below 100 on a chart.",
        "Task 13: Sort numbers.",
        "Task 14: Écrivez une fonction qui inverse une chaîne.",
        "Task 15: - Write a function that reverses a string.",
        "Task 16: Write a Python function `flatten(nested)` that flattens arbitrarily nested lists of integers.",
        "Task 17: Write a Python function that is never read, because only eight tasks are asked for.",
    ])  # fmt: skip
    out = stage.parse(answer, seeds[0], 0, 0)
    kept = [o.data["instruction"] for o in out if isinstance(o, Out)]
    reasons = [o.reason for o in out if isinstance(o, ParseError)]
    assert kept == [
        "Write a Python function `merge_sorted(a, b)` that merges two sorted lists into one sorted list.",
        "Write a Python function `flatten(nested)` that flattens arbitrarily nested lists of integers.",
    ]
    assert reasons == ["similar_to_existing", "similar_to_existing", "unsupported_keyword:plots", "too_short",
                       "not_english", "starts_with_punctuation"]  # fmt: skip
    near = next(o for o in out if isinstance(o, ParseError))
    assert "is_leap_year" in near.raw and "ROUGE-L 0.9" in near.raw  # the reject names the closest known task
    assert stage.parse("", seeds[0], 0, 0) == [ParseError("no_tasks", "")]


def test_bootstrap_pool_state_is_rebuilt_exactly_from_finished_shards():
    method, stage, seeds = bootstrap(generated_shots=2)
    answer = (" Write a Python function `merge_sorted(a, b)` that merges two sorted lists.\n"
              "Task 10: Write a Python class `Queue` backed by two stacks with enqueue and dequeue.")  # fmt: skip
    made = [Record("instruction", o.data, parents=(seeds[0].id,)) for o in stage.parse(answer, seeds[0], 0, 0)]
    stage.observe(made)  # the shard's records as the runner wrote them
    after = [stage.request(s, 3 + i) for i, s in enumerate(seeds)]
    assert any("merge_sorted" in r.prompt for r in after)  # generated tasks now appear in context

    _, resumed, _ = bootstrap(generated_shots=2)  # a new process: start, then the finished shard read back
    resumed.observe(made)
    assert [resumed.request(s, 3 + i) for i, s in enumerate(seeds)] == after
    # A task kept in an earlier shard is not new any more.
    again = resumed.parse(" Write a Python function `merge_sorted(a, b)` that merges two sorted lists.", seeds[1], 4, 0)
    assert [o.reason for o in again] == ["similar_to_existing"]
    # A shard computed but not finished leaves nothing behind: observe() keeps only what its files hold.
    resumed.observe([])
    assert len(resumed.index) == len(HUMANS) + 2


def test_bootstrap_prompts_list_numbered_tasks_and_stop_after_the_new_ones():
    method, stage, seeds = bootstrap(human_shots=3, new_tasks=5)
    request = stage.request(seeds[1], 1)
    listed = re.findall(r"^Task (\d+): (.*)$", request.prompt, re.M)
    assert [n for n, _ in listed] == ["1", "2", "3"] and {t for _, t in listed} == set(HUMANS)
    assert request.prompt.endswith("Task 4:") and request.options.stop == ("Task 9:",)
    chat = SelfInstruct({"builtin_tasks": False, "new_tasks": 5}, mode="chat").stage("bootstrap")
    chat.start(lambda kind: iter(seeds))
    messages = chat.request(seeds[1], 1).messages
    assert [m.role for m in messages] == ["system", "user"]
    assert "Task 4 to Task 8" in messages[-1].content


# ---------------------------------------------------------------------------------------------------------------
# Distillation


def test_distill_sends_responses_to_the_teacher_in_the_teachers_mode():
    method = METHODS.get("distill")(mode="completion", modes={TEACHER: "chat"})
    assert method.roles == (GENERATOR, TEACHER)
    stages = {s.name: s for s in method.stages}
    assert [s.backend for s in method.stages if isinstance(s, LLMStage)] == [GENERATOR, GENERATOR, TEACHER]
    assert stages["concepts"].request(SEED, 0).prompt is not None
    assert stages["response"].request(TASK, 0).messages is not None
    # The tasks are SelfCodeAlign's, prompt for prompt: a selfcodealign run with the same model answered them.
    sca = METHODS.get("selfcodealign")()
    assert stages["concepts"].request(SEED, 2) == sca.stage("concepts").request(SEED, 2)
