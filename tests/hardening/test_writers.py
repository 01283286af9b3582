"""Outputs are complete or clearly partial; inputs are read with bounded memory and honest counts."""

import json
import warnings

import pytest

from codealign.errors import CodealignWarning, FileAccessError, InputError
from codealign.records import AtomicWriter, LineWriter, iter_jsonl, iter_jsonl_numbered, write_jsonl


def test_atomic_write_to_a_read_only_folder_is_one_error_and_leaves_nothing(readonly_dir):
    with pytest.raises(FileAccessError, match=r"cannot write .*out\.jsonl: (Read-only file system|Permission denied)"):
        write_jsonl(readonly_dir / "sub" / "out.jsonl", [{"a": 1}])
    assert list(readonly_dir.iterdir()) == []


def test_atomic_write_on_a_full_disk_keeps_the_previous_file_and_no_temp(full_fs):
    out = full_fs / "out.jsonl"
    write_jsonl(out, [{"n": 1}])
    rows = ({"n": i, "pad": "x" * 1000} for i in range(1000))  # 1 MB: four times the filesystem
    with pytest.raises(FileAccessError, match=r"cannot write .*out\.jsonl: No space left on device"):
        write_jsonl(out, rows)
    assert list(iter_jsonl(out)) == [{"n": 1}]
    assert [p.name for p in full_fs.iterdir()] == ["out.jsonl"]


def test_a_file_where_a_folder_must_be_is_named(tmp_path):
    (tmp_path / "runs").write_text("not a folder\n")
    with pytest.raises(FileAccessError) as err, AtomicWriter(tmp_path / "runs" / "x" / "funnel.json") as fh:
        fh.write("{}")
    assert str(err.value) == f"cannot write {tmp_path / 'runs' / 'x' / 'funnel.json'}: {tmp_path / 'runs'} is a file, not a folder"


def test_streamed_lines_on_a_full_disk_leave_only_whole_lines_under_a_partial_name(full_fs):
    out = full_fs / "outcomes.jsonl"
    written = 0
    with pytest.raises(FileAccessError, match="No space left on device"), LineWriter(out) as writer:
        for i in range(10_000):
            writer.write({"id": i, "stdout": "y" * 700})
            written += 1
    assert not out.exists()
    partial = full_fs / "outcomes.jsonl.partial"
    text = partial.read_text()
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in rows] == list(range(written)) and written > 10


def test_streamed_lines_appear_under_the_final_name_only_when_complete(tmp_path):
    out = tmp_path / "o.jsonl"
    with LineWriter(out) as writer:
        writer.write({"a": 1})
        assert not out.exists() and (tmp_path / "o.jsonl.partial").exists()
    assert out.read_text() == '{"a": 1}\n' and not (tmp_path / "o.jsonl.partial").exists()
    with pytest.raises(RuntimeError), LineWriter(tmp_path / "p.jsonl"):
        raise RuntimeError("stopped before any line")
    assert list(tmp_path.iterdir()) == [out]  # nothing written, nothing left


def test_an_absurd_line_is_skipped_with_its_size_without_holding_it(tmp_path):
    p = tmp_path / "big.jsonl"
    with p.open("w") as fh:
        fh.write('{"a": 1}\n')
        fh.write('{"a": "' + "z" * 3_000_000 + '"}\n')
        fh.write('{"a": 3}\n')
    bad = []
    rows = list(iter_jsonl_numbered(p, bad, max_line_bytes=1 << 20))
    assert rows == [(1, {"a": 1}), (3, {"a": 3})]
    assert [(b.lineno, b.reason) for b in bad] == [(2, "line of 3.0 MB is over the 1 MiB limit per record")]


def test_non_utf8_lines_are_counted_in_one_warning(tmp_path):
    p = tmp_path / "latin1.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"a": "ok"}\n' + b'{"a": "caf\xe9"}\n' * 1500)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rows = list(iter_jsonl(p, []))
    assert rows[0] == {"a": "ok"} and rows[1] == {"a": "caf\ufffd"} and len(rows) == 1501
    ours = [str(w.message) for w in seen if issubclass(w.category, CodealignWarning)]
    assert ours == [f"{p}: 1,500 lines are not valid UTF-8 (first: line 2); the undecodable bytes were read as U+FFFD"]


def test_an_input_with_no_usable_line_fails_after_reporting_them(tmp_path):
    p = tmp_path / "junk.jsonl"
    p.write_text("not json\n" * 3000)
    bad = []
    with pytest.raises(InputError, match=r"no usable line in .*junk\.jsonl: 3,000 skipped \(first: line 1: invalid JSON"):
        list(iter_jsonl(p, bad))
    assert len(bad) == 3000
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert list(iter_jsonl(empty, [])) == []  # nothing at all is not a failure: there was nothing to skip


def test_a_commands_files_appear_together_or_not_at_all(tmp_path):
    from codealign.records import output_group

    with pytest.raises(FileAccessError), output_group():
        write_jsonl(tmp_path / "data.jsonl", [{"a": 1}])
        assert not (tmp_path / "data.jsonl").exists()  # held back until the group ends
        raise FileAccessError("cannot write rejects: No space left on device")
    assert list(tmp_path.iterdir()) == []
    with output_group():
        write_jsonl(tmp_path / "data.jsonl", [{"a": 1}])
        write_jsonl(tmp_path / "data.rejects.jsonl", [{"a": 2}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "data.rejects.jsonl"]
