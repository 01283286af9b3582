"""Data sources: run directories, field mapping, drops counted by reason, the eval split and mixing weights."""

import pytest

from codealign.errors import ConfigError, InputError
from codealign.train.data import prepare
from codealign.train.job import make_formats
from tests.train.conftest import config, write_jsonl


@pytest.fixture
def fresh_tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_path)


def prepared(tokenizer, **options):
    cfg = config("unused-model", "unused-out", **options)
    return prepare(cfg, make_formats(cfg, tokenizer))


def rows(n, long_every=0):
    out = []
    for i in range(n):
        body = "    x = x + 1\n" * (300 if long_every and i % long_every == 0 else 1)
        out.append({"task": f"Task number {i}: increment.", "code": f"def f{i}(x):\n{body}    return x\n"})
    return out


def test_a_run_directory_gives_its_final_files(tokenizer, demo_run):
    sft = prepared(tokenizer, data=str(demo_run))
    assert len(sft.train) == 4 and sft.sources[0].kind == "run" and sft.sources[0].file.endswith("final/sft.jsonl")
    dpo = prepared(tokenizer, data=str(demo_run), stage="dpo")
    assert len(dpo.train) == 2 and dpo.sources[0].file.endswith("final/dpo.jsonl")
    assert set(dpo.train[0]) == {"prompt_ids", "chosen_ids", "rejected_ids"}


def test_too_long_examples_are_dropped_and_counted_never_truncated(tokenizer, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", rows(20, long_every=4))
    fields = {"instruction": "task", "response": "code"}
    p = prepared(tokenizer, data={"path": str(data), "fields": fields}, max_length=256)
    # Counted independently: prompt + response + EOS over 256 tokens.
    from codealign.train.formats.instruction import load_template

    head, rest = load_template("selfcodealign").split("{instruction}")
    middle = rest[: -len("{response}")]
    too_long = sum(len(tokenizer(head + r["task"] + middle)["input_ids"]) + len(tokenizer(r["code"])["input_ids"]) + 1 > 256
                   for r in rows(20, long_every=4))
    assert too_long == 5
    assert p.sources[0].dropped == {"too long": 5} and p.sources[0].examples == 15 and len(p.train) == 15
    for ex in p.train:
        assert len(ex["input_ids"]) <= 256
        assert ex["labels"][-1] == tokenizer.eos_token_id  # every kept example still ends with its EOS


def test_missing_fields_are_named(tokenizer, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", rows(3))
    with pytest.raises(ConfigError, match=r"no 'instruction' field \(tried instruction, prompt.*fields: \{instruction: your_field\}"):
        prepared(tokenizer, data=str(data))
    with pytest.raises(ConfigError, match="which format 'instruction' does not read"):
        prepared(tokenizer, data={"path": str(data), "fields": {"task": "task"}})


def test_nested_fields_and_bad_lines(tokenizer, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"q": {"text": "Say hi."}, "a": "print(1)"}\nnot json\n{"q": {"text": "Say bye."}, "a": ""}\n')
    p = prepared(tokenizer, data={"path": str(data), "fields": {"instruction": "q.text", "response": "a"}})
    assert p.sources[0].rows == 3 and len(p.train) == 1
    assert p.sources[0].dropped == {"unreadable row": 1, "empty response": 1}


def test_eval_split_by_ratio_or_count_and_weights(tokenizer, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"instruction": f"a{i}", "response": f"x = {i}"} for i in range(20)])
    b = write_jsonl(tmp_path / "b.jsonl", [{"instruction": f"b{i}", "response": f"y = {i}"} for i in range(10)])
    p = prepared(tokenizer, data=[{"path": str(a), "weight": 0.5}, {"path": str(b), "weight": 2}], eval_size=6)
    assert len(p.eval) == 6 and sum(s.eval for s in p.sources) == 6
    train_a, train_b = (20 - p.sources[0].eval), (10 - p.sources[1].eval)
    assert p.sources[0].train == round(train_a * 0.5) and p.sources[1].train == 2 * train_b
    assert len(p.train) == p.sources[0].train + p.sources[1].train
    # No eval example is also a training example.
    seen = {tuple(ex["input_ids"]) for ex in p.train}
    assert not any(tuple(ex["input_ids"]) in seen for ex in p.eval)
    ratio = prepared(tokenizer, data=str(a), eval_size=0.25)
    assert len(ratio.eval) == 5 and len(ratio.train) == 15
    # The same config gives the same data, token for token.
    assert prepared(tokenizer, data=str(a), eval_size=0.25).fingerprint == ratio.fingerprint


def test_empty_or_absent_data_is_one_clear_error(tokenizer, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match=r"no training examples in the data \(0 rows"):
        prepared(tokenizer, data=str(empty))
    with pytest.raises(InputError, match="data not found: ./nowhere.jsonl"):
        prepared(tokenizer, data="./nowhere.jsonl")
    everything_long = write_jsonl(tmp_path / "long.jsonl", rows(3, long_every=1))
    with pytest.raises(InputError, match=r"dropped: too long 3; max_length 64"):
        prepared(tokenizer, data={"path": str(everything_long), "fields": {"instruction": "task", "response": "code"}},
                 max_length=64)
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    with pytest.raises(InputError, match="has no final/dpo.jsonl"):
        prepared(tokenizer, data=str(run), stage="dpo")


def test_sources_may_mix_formats(fresh_tokenizer, tmp_path):
    from codealign.train.model import prepare_vocab

    tasks = write_jsonl(tmp_path / "tasks.jsonl", [{"instruction": f"t{i}", "response": f"x = {i}"} for i in range(6)])
    code = write_jsonl(tmp_path / "code.jsonl", [{"seed": f"def f{i}(x):\n    return x + {i}\n"} for i in range(40)])
    cfg = config("unused-model", "unused-out", [str(tasks), {"path": str(code), "format": "fim"}],
                 fim={"rate": 1.0, "spm_rate": 0.5})  # fmt: skip
    formats = make_formats(cfg, fresh_tokenizer)
    assert set(formats) == {"instruction", "fim"}
    prepare_vocab(fresh_tokenizer, [t for f in formats.values() for t in f.needed_tokens()])
    p = prepare(cfg, formats)
    assert [s.format for s in p.sources] == ["instruction", "fim"]
    assert [s.train for s in p.sources] == [6, 40] and len(p.train) == 46
    assert p.sources[1].extra["fim:psm"] + p.sources[1].extra["fim:spm"] == 40
    prefix = fresh_tokenizer.convert_tokens_to_ids("<fim_prefix>")
    assert sum(ex["input_ids"][0] == prefix for ex in p.train) == 40
