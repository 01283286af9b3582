"""Each training format, token by token, on the tiny model's real tokenizer: what is masked, what is learned."""

import random

import pytest

from codealign.errors import ConfigError
from codealign.train.formats.chat import ChatFormat
from codealign.train.formats.commits import CommitsFormat
from codealign.train.formats.completion import CompletionFormat
from codealign.train.formats.dpo import PreferencePairs
from codealign.train.formats.fim import FimFormat, fim_split
from codealign.train.formats.instruction import InstructionFormat
from codealign.train.formats.repo import RepoFormat
from codealign.train.model import prepare_vocab
from tests.train.conftest import config

# SelfCodeAlign's prompt layout (StarCoder2-Instruct), written out here rather than read from the package.
SYSTEM = ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
          "responses to user instructions.")
ROWS = [
    {"instruction": "Write a function `add(a, b)` that returns the sum.", "response": "def add(a, b):\n    return a + b\n"},
    {"instruction": "Reverse a string.", "response": "    indented start\n\ndef rev(s):\n    return s[::-1]"},
    {"instruction": "Unicode: écrire «bonjour».", "response": "print('bonjour → 世界')\n"},
    {"instruction": "Explain EOS.", "response": 'The marker is "<|endoftext|>" and code may mention it.'},
]


@pytest.fixture
def fresh_tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_path)


def cfg(**options):
    return config("unused-model", "unused-out", "unused.jsonl", **{"max_length": 1280, **options})


def trained(example):
    return [t for t in example["labels"] if t != -100]


def test_instruction_labels_are_minus_100_exactly_on_prompt_tokens(tokenizer):
    fmt = InstructionFormat(cfg(), tokenizer)
    eos = tokenizer.eos_token_id
    for row in ROWS:
        [ex] = fmt.encode(row, "k")
        prompt = tokenizer(f"{SYSTEM}\n\n### Instruction\n{row['instruction']}\n\n### Response\n")["input_ids"]
        n = len(prompt)
        assert ex["input_ids"][:n] == prompt
        assert ex["labels"][:n] == [-100] * n
        # Every token after the prompt is a label, equal to its input token; the last one is EOS.
        assert ex["labels"][n:] == ex["input_ids"][n:]
        assert -100 not in ex["labels"][n:]
        assert ex["labels"][-1] == eos and ex["input_ids"][-1] == eos
        assert tokenizer.decode(ex["labels"][n:-1]) == row["response"]


def test_special_token_text_in_content_is_not_a_special_token(tokenizer):
    [ex] = InstructionFormat(cfg(), tokenizer).encode(ROWS[3], "k")
    eos = tokenizer.eos_token_id
    assert ex["input_ids"].count(eos) == 1 and ex["input_ids"][-1] == eos


def test_instruction_chat_template_renders_the_training_prompt(fresh_tokenizer):
    fmt = InstructionFormat(cfg(), fresh_tokenizer)
    fresh_tokenizer.chat_template = fmt.chat_template()
    for row in ROWS[:3]:
        text = fresh_tokenizer.apply_chat_template([{"role": "user", "content": row["instruction"]}], tokenize=False,
                                                   add_generation_prompt=True)
        assert fresh_tokenizer(text, add_special_tokens=False)["input_ids"] == fmt.prompt_ids(row["instruction"])
        full = fresh_tokenizer.apply_chat_template(
            [{"role": "user", "content": row["instruction"]}, {"role": "assistant", "content": row["response"]}],
            tokenize=False)
        assert full == text + row["response"] + fresh_tokenizer.eos_token


def test_a_user_template_file_is_used(tokenizer, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Q: {instruction}\nA: {response}")
    [ex] = InstructionFormat(cfg(template=str(path)), tokenizer).encode(ROWS[0], "k")
    n = len(tokenizer(f"Q: {ROWS[0]['instruction']}\nA: ")["input_ids"])
    assert ex["labels"][:n] == [-100] * n and ex["labels"][n] != -100
    path.write_text("no placeholders")
    with pytest.raises(ConfigError, match="must contain"):
        InstructionFormat(cfg(template=str(path)), tokenizer)


def test_pad_token_is_made_distinct_from_eos(fresh_tokenizer):
    assert prepare_vocab(fresh_tokenizer, []).notes == []  # the tiny tokenizer already has its own pad
    fresh_tokenizer.pad_token = fresh_tokenizer.eos_token
    vocab = prepare_vocab(fresh_tokenizer, [])
    assert fresh_tokenizer.pad_token_id is not None
    assert fresh_tokenizer.pad_token_id != fresh_tokenizer.eos_token_id
    assert any("pad token" in note for note in vocab.notes)


def test_chat_format_trains_on_assistant_turns_only(fresh_tokenizer):
    fmt = ChatFormat(cfg(format="chat"), fresh_tokenizer)
    messages = [{"role": "system", "content": "SYSTEM-TEXT"}, {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"}, {"role": "user", "content": "second question"},
                {"role": "assistant", "content": "second answer"}]
    [ex] = fmt.encode({"messages": messages}, "k")
    assert ex["labels"][-1] == fresh_tokenizer.eos_token_id
    learned = fresh_tokenizer.decode(trained(ex)[:-1])
    # The tiny template closes every turn with <|end|>: the model learns to end its turn and then to stop.
    assert learned == "first answer<|end|>\nsecond answer<|end|>\n"
    masked = fresh_tokenizer.decode([t for t, lab in zip(ex["input_ids"], ex["labels"], strict=True) if lab == -100])
    assert "SYSTEM-TEXT" in masked and "first question" in masked and "answer" not in masked
    # instruction/response rows become one user and one assistant message
    [ex2] = fmt.encode({"instruction": "q", "response": "a"}, "k")
    assert fresh_tokenizer.decode(trained(ex2)[:-1]) == "a<|end|>\n"


def test_chat_format_without_a_chat_template_is_one_clear_error(fresh_tokenizer):
    fresh_tokenizer.chat_template = None
    with pytest.raises(ConfigError, match="has no chat template: use format: instruction"):
        ChatFormat(cfg(format="chat"), fresh_tokenizer)


def test_completion_trains_every_token_and_splits_long_files(tokenizer):
    text = "def f(x):\n    return x * 2\n" * 40
    [ex] = CompletionFormat(cfg(format="completion"), tokenizer).encode({"text": text}, "k")
    assert ex["labels"] == ex["input_ids"] and ex["input_ids"][-1] == tokenizer.eos_token_id
    windows = CompletionFormat(cfg(format="completion", max_length=64), tokenizer).encode({"text": text}, "k")
    assert len(windows) > 1 and all(len(w["input_ids"]) <= 64 for w in windows)
    assert [t for w in windows for t in w["input_ids"]] == ex["input_ids"]
    assert CompletionFormat(cfg(format="completion", max_length=64, overflow="drop"), tokenizer).encode({"text": text}, "k") == "too long"


def test_fim_split_reassembles_every_original():
    rng = random.Random(0)
    alphabet = "abc def\n\t(){}:é世"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        prefix, middle, suffix = fim_split(text, rng)
        assert prefix + middle + suffix == text


CODE = "def area(w, h):\n    \"\"\"Area of a rectangle.\"\"\"\n    return w * h\n\nprint(area(2, 3))\n"


def test_fim_token_order_matches_starcoder(fresh_tokenizer):
    vocab = prepare_vocab(fresh_tokenizer, FimFormat(cfg(format="fim"), fresh_tokenizer).needed_tokens())
    assert vocab.added == ["<fim_prefix>", "<fim_middle>", "<fim_suffix>"]  # the tiny tokenizer has none
    p, m, s = (fresh_tokenizer.convert_tokens_to_ids(t) for t in vocab.added)
    dec = fresh_tokenizer.decode
    for spm_rate, mode in ((0.0, "psm"), (1.0, "spm")):
        fmt = FimFormat(cfg(format="fim", fim={"rate": 1.0, "spm_rate": spm_rate}), fresh_tokenizer)
        for i in range(50):
            [ex] = fmt.encode({"text": CODE}, f"doc{i}")
            ids = ex["input_ids"]
            assert ex["fim"] == mode and ex["labels"] == ids and ids[-1] == fresh_tokenizer.eos_token_id
            assert [ids.count(t) for t in (p, m, s)] == [1, 1, 1]
            ip, im, is_ = ids.index(p), ids.index(m), ids.index(s)
            if mode == "psm":  # <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle <eos>
                assert ip == 0 and ip < is_ < im
                prefix, suffix, middle = dec(ids[1:is_]), dec(ids[is_ + 1:im]), dec(ids[im + 1:-1])
                assert prefix + middle + suffix == CODE
            else:  # <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle <eos>
                assert (ip, is_) == (0, 1) and im > is_
                suffix, prefix_middle = dec(ids[2:im]), dec(ids[im + 1:-1])
                assert prefix_middle + suffix == CODE


def test_fim_rates_hold_over_many_documents(fresh_tokenizer):
    prepare_vocab(fresh_tokenizer, ["<fim_prefix>", "<fim_middle>", "<fim_suffix>"])
    fmt = FimFormat(cfg(format="fim", fim={"rate": 0.5, "spm_rate": 0.5}), fresh_tokenizer)
    modes = [fmt.encode({"text": CODE}, f"doc{i}")[0]["fim"] for i in range(2000)]
    fim = [x for x in modes if x != "none"]
    # Binomial(2000, 0.5) has a standard deviation of 1.1 points; these bounds are more than 4 of them.
    assert 0.45 <= len(fim) / len(modes) <= 0.55
    assert 0.44 <= fim.count("spm") / len(fim) <= 0.56
    rare = FimFormat(cfg(format="fim", fim={"rate": 0.1, "spm_rate": 0.5}), fresh_tokenizer)
    share = sum(rare.encode({"text": CODE}, f"doc{i}")[0]["fim"] != "none" for i in range(2000)) / 2000
    assert 0.07 <= share <= 0.13


def test_fim_uses_the_tokenizer_own_tokens(fresh_tokenizer):
    fresh_tokenizer.add_special_tokens({"additional_special_tokens": ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]})
    fmt = FimFormat(cfg(format="fim"), fresh_tokenizer)
    assert fmt.needed_tokens() == ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
    assert prepare_vocab(fresh_tokenizer, fmt.needed_tokens()).added == []


REPOS = {
    "org/alpha": {"a.py": "A = 1\n", "pkg/b.py": "B = 2\n", "pkg/c.py": "C = 3\n"},
    "org/beta": {"x.py": "X = 'x'\n", "y.py": "Y = 'y'\n"},
    "org/gamma": {"only.py": "ONLY = True\n"},
}


def repo_rows():
    return [{"text": code, "path": path, "repo": repo} for repo, files in REPOS.items() for path, code in files.items()]


@pytest.mark.parametrize("metadata", [1.0, 0.0])
def test_repo_packing_has_every_file_once_per_order_and_orders_differ(fresh_tokenizer, metadata):
    fmt = RepoFormat(cfg(format="repo", repo={"orders": 2, "metadata_rate": metadata}), fresh_tokenizer)
    vocab = prepare_vocab(fresh_tokenizer, fmt.needed_tokens())
    assert vocab.added == ["<repo_name>", "<file_sep>"]
    repo_id, file_id = (fresh_tokenizer.convert_tokens_to_ids(t) for t in vocab.added)
    results = [out for _, out in fmt.encode_rows(repo_rows(), "s")]
    examples = [ex for out in results if isinstance(out, list) for ex in out]
    by_repo = {}
    for ex in examples:
        ids = ex["input_ids"]
        assert ex["labels"] == ids and ids[-1] == fresh_tokenizer.eos_token_id
        cut = [i for i, t in enumerate(ids) if t == file_id]
        pieces = [fresh_tokenizer.decode(ids[a + 1:b]) for a, b in zip(cut, [*cut[1:], len(ids) - 1], strict=True)]
        if metadata:
            assert ids[0] == repo_id
            name = fresh_tokenizer.decode(ids[1:cut[0]])
            files = dict(piece.split("\n", 1) for piece in pieces)  # path\ncode
        else:
            assert repo_id not in ids and cut[0] == 0
            name = next(r for r, fs in REPOS.items() if set(pieces) == set(fs.values()))
            files = {next(p for p, c in REPOS[name].items() if c == piece): piece for piece in pieces}
        assert len(pieces) == len(REPOS[name]) and files == REPOS[name]  # every file once
        by_repo.setdefault(name, []).append(pieces)
    assert {name: len(orders) for name, orders in by_repo.items()} == {"org/alpha": 2, "org/beta": 2, "org/gamma": 1}
    for name in ("org/alpha", "org/beta"):
        assert by_repo[name][0] != by_repo[name][1]  # two different orders


def test_commits_layout_trains_on_the_file_after(fresh_tokenizer):
    fmt = CommitsFormat(cfg(format="commits"), fresh_tokenizer)
    prepare_vocab(fresh_tokenizer, fmt.needed_tokens())
    row = {"before": "def f():\n    return 1\n", "message": "Return two instead of one", "after": "def f():\n    return 2\n"}
    [ex] = fmt.encode(row, "k")
    text = fresh_tokenizer.decode(ex["input_ids"])
    assert text == f"<commit_before>{row['before']}<commit_msg>{row['message']}<commit_after>{row['after']}<|endoftext|>"
    n = ex["input_ids"].index(fresh_tokenizer.convert_tokens_to_ids("<commit_after>")) + 1
    assert ex["labels"][:n] == [-100] * n
    assert fresh_tokenizer.decode(ex["labels"][n:-1]) == row["after"] and ex["labels"][-1] == fresh_tokenizer.eos_token_id


def test_preference_pairs_share_the_sft_prompt(tokenizer):
    inner = InstructionFormat(cfg(stage="dpo"), tokenizer)
    pairs = PreferencePairs(inner)
    row = {"prompt": ROWS[0]["instruction"], "chosen": "return a + b", "rejected": "return a - b"}
    [ex] = pairs.encode(row, "k")
    assert ex["prompt_ids"] == inner.encode({"instruction": row["prompt"], "response": "x"}, "k")[0]["input_ids"][:len(ex["prompt_ids"])]
    assert ex["prompt_ids"] == tokenizer(f"{SYSTEM}\n\n### Instruction\n{row['prompt']}\n\n### Response\n")["input_ids"]
    for key, text in (("chosen_ids", row["chosen"]), ("rejected_ids", row["rejected"])):
        assert ex[key][-1] == tokenizer.eos_token_id and tokenizer.decode(ex[key][:-1]) == text
    assert pairs.encode({**row, "rejected": row["chosen"]}, "k") == "chosen equals rejected"
    short = PreferencePairs(InstructionFormat(cfg(stage="dpo", max_length=len(ex["prompt_ids"]) + 2), tokenizer))
    assert short.encode(row, "k") == "too long"
    with pytest.raises(ConfigError, match="DPO needs format: instruction or chat"):
        PreferencePairs(CompletionFormat(cfg(stage="dpo", format="completion"), tokenizer))


def test_a_tokenizer_that_adds_bos_gets_it_once_at_the_start(fresh_tokenizer):
    from tokenizers import processors

    bos = fresh_tokenizer.convert_tokens_to_ids("<|user|>")  # any id: stands in for a Llama-style BOS
    fresh_tokenizer._tokenizer.post_processor = processors.TemplateProcessing(
        single="<|user|> $A <|endoftext|>", special_tokens=[("<|user|>", bos), ("<|endoftext|>", 0)])
    assert fresh_tokenizer("x")["input_ids"][0] == bos  # it adds BOS (and EOS) to a sequence of its own
    fmt = InstructionFormat(cfg(), fresh_tokenizer)
    [ex] = fmt.encode(ROWS[0], "k")
    assert ex["input_ids"][0] == bos and ex["input_ids"].count(bos) == 1
    assert ex["input_ids"].count(fresh_tokenizer.eos_token_id) == 1  # only the EOS the format appends
    fresh_tokenizer.chat_template = fmt.chat_template()
    text = fresh_tokenizer.apply_chat_template([{"role": "user", "content": ROWS[0]["instruction"]}], tokenize=False,
                                               add_generation_prompt=True)
    assert fresh_tokenizer(text, add_special_tokens=False)["input_ids"] == fmt.prompt_ids(ROWS[0]["instruction"])
