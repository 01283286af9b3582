"""The selfcodealign method: its few-shot pool, its prompts and the programs it builds from responses."""

import re
from collections import Counter

import pytest

from codealign.errors import ConfigError
from codealign.records import Record
from codealign.registry import METHODS
from codealign.sandbox import Sandbox, Status
from codealign.select import format_reason, select
from codealign.synth import code as codeutil
from codealign.synth.base import ParseError
from codealign.synth.parse import parse_concepts, parse_instruction
from codealign.synth.selfcodealign import SelfCodeAlign, load_pool, load_templates
from codealign.synth.testgate import weak_tests

SEED = Record("seed", {"seed": 'def area(w, h):\n    """Area of a w x h rectangle."""\n    return w * h\n'})
CONCEPTS = Record("concepts", {"concepts": ["arithmetic", "input validation"]}, parents=(SEED.id,))
INSTRUCTION = Record(
    "instruction",
    {
        "instruction": "Write a Python function `perimeter(w, h)` that returns the perimeter of a rectangle.",
        "category": "function",
        "difficulty": "easy",
        "language": "python",
        "concepts": ["arithmetic"],
    },
    parents=(CONCEPTS.id,),
)
INPUTS = {"concepts": SEED, "instruction": CONCEPTS, "response": INSTRUCTION}


def model_answer(example: dict, stage: str) -> str:
    """What a model that had learned the pool would write for this stage, cut at the stop string like a backend."""
    fields = {**example, "concepts": ", ".join(example["concepts"])}
    text = load_templates()["stages"][stage]["output"].format(**fields)
    return text.split("</tests>")[0]


def test_pool_is_large_and_covers_every_category_and_difficulty():
    pool = load_pool()
    assert len(pool) >= 20
    assert len({ex["id"] for ex in pool}) == len(pool)
    languages = Counter(ex["language"] for ex in pool)
    assert set(languages) == {"python", "cpp", "java", "go", "rust", "javascript", "typescript", "shell"}
    assert min(languages.values()) >= 2
    combos = Counter((ex["category"], ex["difficulty"]) for ex in pool)
    for category in ("function", "class", "program"):
        for difficulty in ("easy", "medium", "hard"):
            assert combos[(category, difficulty)] >= 1, (category, difficulty)


def test_every_pool_example_passes_its_own_tests_and_every_selection_filter():
    method = SelfCodeAlign()
    stage = method.stage("response")
    programs, items = [], []
    for index, example in enumerate(load_pool()):
        instruction = Record("instruction", {"instruction": example["instruction"], "language": example["language"]})
        fields = stage.parse(model_answer(example, "response"), instruction, index, 0)
        assert not isinstance(fields, ParseError), (example["id"], fields)
        assert format_reason(fields) is None, example["id"]
        program = method.program(Record("sample", fields, parents=(instruction.id,)))
        assert not isinstance(program, ParseError), example["id"]
        assert program.language == example["language"], example["id"]  # every language runs in its own runner
        code, tests = codeutil.program_parts(fields["solution"], fields["tests"], example["language"])
        assert weak_tests(code, tests) is None, example["id"]
        programs.append((example["id"], program))
        items.append((instruction, Record("sample", fields, parents=(instruction.id,))))
    with Sandbox(workers=2) as sandbox:
        outcomes = sandbox.run_all([p for _, p in programs])
    failures = {
        name: (o.status.value, o.error)
        for (name, _), o in zip(programs, outcomes, strict=True)
        if o.status is not Status.PASSED
    }
    assert failures == {}
    # The examples show the model what selection keeps: all of them survive it, none is a near-duplicate of
    # another and none overlaps a benchmark.
    selection = select([(i, s, o) for (i, s), o in zip(items, outcomes, strict=True)])
    assert [(r.id, reason) for r, reason in selection.rejected] == []
    assert len(selection.kept) == len(items)


def test_pool_answers_parse_back_to_the_pool_fields():
    for example in load_pool():
        assert parse_concepts(model_answer(example, "concepts")) == example["concepts"]
        assert parse_instruction(model_answer(example, "instruction")) == example["instruction"]


@pytest.mark.parametrize(
    ("stage", "shots", "n", "stop", "tail"),
    [
        ("concepts", 8, 1, ("## Example",), "### Snippet\n" + SEED.data["seed"].strip("\n") + "\n\n### Concepts\n"),
        (
            "instruction",
            8,
            1,
            ("## Example",),
            "### Properties\ncategory: {category}\nlanguage: python\ndifficulty: {difficulty}\n"
            "concepts: arithmetic, input validation\n\n### Task\n",
        ),
        (
            "response",
            1,
            10,
            ("## Example", "</tests>"),
            "<instruction>\n" + INSTRUCTION.data["instruction"] + "\n</instruction>\n\n<response>\n",
        ),
    ],
)
def test_completion_prompts_follow_the_paper_layout(stage, shots, n, stop, tail):
    method = SelfCodeAlign()
    request = method.stage(stage).request(INPUTS[stage], 7)
    prompt = request.prompt
    assert prompt.startswith(load_templates()["stages"][stage]["system"])
    assert re.findall(r"^## Example (\d+)$", prompt, re.M) == [str(i) for i in range(1, shots + 2)]
    last = prompt.split(f"## Example {shots + 1}\n")[1]
    fields = re.findall(r"^(?:category|difficulty): (\w+)$", last, re.M)
    if fields:
        tail = tail.format(category=fields[0], difficulty=fields[1])
        assert fields[0] in ("function", "class", "program") and fields[1] in ("easy", "medium", "hard")
    assert last == tail
    opts = request.options
    assert (opts.n, opts.temperature, opts.max_tokens, opts.stop, opts.seed) == (n, 0.7, 1536, stop, 3407 + 7)


def test_prompts_are_reproducible_per_item_and_vary_across_items():
    a, b = SelfCodeAlign(), SelfCodeAlign()
    for name, record in INPUTS.items():
        first = a.stage(name).request(record, 11)
        assert first == b.stage(name).request(record, 11)
        assert a.stage(name).prompt_hash(first) == b.stage(name).prompt_hash(b.stage(name).request(record, 11))
    prompts = {a.stage("concepts").request(SEED, i).prompt for i in range(10)}
    assert len(prompts) == 10  # each item draws its own examples
    other_seed = SelfCodeAlign({"seed": 1})
    assert other_seed.stage("concepts").request(SEED, 11).prompt != a.stage("concepts").request(SEED, 11).prompt


def test_instruction_properties_follow_the_paper_distribution_and_are_recorded():
    stage = SelfCodeAlign().stage("instruction")
    categories, difficulties = Counter(), Counter()
    for index in range(600):
        prompt = stage.request(CONCEPTS, index).prompt
        shown = dict(re.findall(r"^(category|difficulty|language): (\w+)$", prompt.rsplit("## Example 9", 1)[1], re.M))
        fields = stage.parse("Write a Python function that reverses the words of a sentence.", CONCEPTS, index, 0)
        assert {k: fields[k] for k in shown} == shown
        assert fields["concepts"] == CONCEPTS.data["concepts"]
        categories[shown["category"]] += 1
        difficulties[shown["difficulty"]] += 1
    assert set(categories) == {"function", "class", "program"}
    assert 0.42 < categories["function"] / 600 < 0.58
    assert all(0.27 < difficulties[d] / 600 < 0.40 for d in ("easy", "medium", "hard"))


def test_chat_mode_sends_the_same_content_as_messages():
    completion, chat = SelfCodeAlign(mode="completion"), SelfCodeAlign(mode="chat")
    for name, record in INPUTS.items():
        prompt = completion.stage(name).request(record, 3).prompt
        messages = chat.stage(name).request(record, 3).messages
        roles = [m.role for m in messages]
        shots = completion.stage(name).shots
        assert roles == ["system"] + ["user", "assistant"] * shots + ["user"]
        assert prompt.startswith(messages[0].content)
        assert prompt.endswith(messages[-1].content)
        for message in messages[1:]:
            assert message.content in prompt


def test_options_are_typed_and_unknown_keys_fail():
    method = SelfCodeAlign({"response_samples": 4, "temperature": 0.2})
    assert method.stage("response").request(INSTRUCTION, 0).options.n == 4
    with pytest.raises(ConfigError, match="shots"):
        SelfCodeAlign({"shots": 3})
    with pytest.raises(ConfigError, match="mode"):
        SelfCodeAlign(mode="json")
    assert METHODS.get("selfcodealign") is SelfCodeAlign


def test_custom_pool_is_validated(tmp_path):
    bad = tmp_path / "pool.jsonl"
    bad.write_text('{"snippet": "x", "concepts": ["a"]}\n')
    with pytest.raises(ConfigError, match="lacks"):
        _ = SelfCodeAlign({"pool": str(bad)}).stage("concepts").request(SEED, 0)


def test_provenance_names_method_model_prompt_and_sampling():
    method = SelfCodeAlign()
    stage = method.stage("instruction")
    request = stage.request(CONCEPTS, 2)
    prov = method.provenance(stage, request, "bigcode/starcoder2-3b")
    assert prov["method"] == "selfcodealign" and prov["method_version"] == method.version
    assert prov["model"] == "bigcode/starcoder2-3b"
    assert prov["prompt_hash"] == stage.prompt_hash(request)
    assert prov["sampling"]["seed"] == 3409 and prov["sampling"]["stop"] == ["## Example"]


def test_program_joins_code_blocks_and_drops_the_script_entry_point():
    solution = (
        "Read the numbers and add them.\n\n```python\nimport sys\n\n\ndef total(xs):\n    return sum(xs)\n```\n\n"
        "A second block:\n\n```python\ndef mean(xs):\n    return total(xs) / len(xs)\n\n\n"
        'if __name__ == "__main__":\n    print(mean([float(x) for x in input().split()]))\n```'
    )
    sample = Record("sample", {"response": "", "solution": solution, "tests": "```python\nassert mean([1, 3]) == 2\n```"})
    program = SelfCodeAlign().program(sample)
    assert "def total" in program.code and "def mean" in program.code
    assert "input()" not in program.code and "__main__" not in program.code
    assert program.tests == "assert mean([1, 3]) == 2"
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run_all([program])[0].status is Status.PASSED


def test_program_refuses_malformed_samples_with_the_selection_reason():
    sample = Record("sample", {"response": "", "solution": "Just use sum().", "tests": "```python\nassert sum([1]) == 1\n```"})
    result = SelfCodeAlign().program(sample)
    assert isinstance(result, ParseError) and result.reason == "format:no_code"


def test_tasks_and_examples_in_the_language_of_the_run():
    method = SelfCodeAlign({"language": "rust"})
    prompt = method.stage("instruction").request(CONCEPTS, 0).prompt
    item = prompt.rsplit("## Example", 1)[1]
    assert "language: rust" in item
    examples = prompt.split("## Example")[1:-1]
    assert sum("language: rust" in e for e in examples) == 2  # the pool's Rust examples come first
    rust_task = Record("instruction", {**INSTRUCTION.data, "language": "rust",
                                       "instruction": "Write a Rust function `fn perimeter(w: u32, h: u32) -> u32`."},
                       parents=(CONCEPTS.id,))  # fmt: skip
    response_prompt = method.stage("response").request(rust_task, 0).prompt
    assert "```rust" in response_prompt.split("<instruction>\nWrite a Rust function `fn perimeter")[0]
    answer = ("Add twice each side.\n\n```rust\nfn perimeter(w: u32, h: u32) -> u32 {\n    2 * (w + h)\n}\n```\n"
              "</response>\n\n<tests>\n```rust\nfn main() {\n    assert_eq!(perimeter(2, 3), 10);\n}\n```\n")  # fmt: skip
    fields = method.stage("response").parse(answer, rust_task, 0, 0)
    program = method.program(Record("sample", fields, parents=(rust_task.id,)))
    assert fields["language"] == "rust" and program.language == "rust"
    assert program.code.startswith("fn perimeter") and "assert_eq!" in program.tests
    python = SelfCodeAlign().stage("instruction").request(CONCEPTS, 0).prompt
    assert "language: rust" not in python  # a Python run draws only Python examples, as it always did
    assert SelfCodeAlign({"languages": ["rs", "ts"]}).options.languages == ("rust", "typescript")
    with pytest.raises(ConfigError, match="unknown language 'rsut'; known: cpp, go"):
        SelfCodeAlign({"language": "rsut"})
