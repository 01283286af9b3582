"""`codealign dedup` as a user runs it: rows copied byte for byte, rejects that point at the rows they drop."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from codealign.cli import app
from codealign.curate.lines import scan_lines
from codealign.errors import InputError
from codealign.records import iter_jsonl

from .conftest import STDLIB


def _dedup(*args):
    result = CliRunner().invoke(app, ["dedup", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _lines(path):
    return path.read_bytes().split(b"\n")


def test_kept_rows_are_the_input_lines_unchanged_and_rejects_name_their_lines(tmp_path):
    heapq = (STDLIB / "heapq.py").read_text()
    bisect = (STDLIB / "bisect.py").read_text()
    lines = [
        json.dumps({"code": heapq, "note": "caf\u00e9"}),  # \u escapes stay as written
        json.dumps({"code": bisect}, ensure_ascii=False, indent=None) + "\r",  # a CRLF line
        "",
        json.dumps({"code": heapq.replace("heap", "hp", 3), "n": 3}),  # near duplicate of line 1
        json.dumps({"code": bisect, "copy": True}),  # exact duplicate of line 2
        json.dumps({"code": "def f(x):\n    return x + 1\n", "tag": "\u00e9t\u00e9"}, ensure_ascii=False),
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_bytes("\n".join(lines).encode())  # the last line has no line end
    out = tmp_path / "out.jsonl"

    _dedup(inp, "--field", "code", "-o", out)

    written = _lines(out)
    assert written[-1] == b"", "every written line ends with a newline"
    assert written[:-1] == [lines[0].encode(), lines[1].encode(), lines[5].encode()]
    rejects = list(iter_jsonl(tmp_path / "out.rejects.jsonl"))
    assert [(r["path"], r["line"], r["reason"]) for r in rejects] == [
        (str(inp), 4, "near_duplicate: of line 1"),
        (str(inp), 5, "exact_duplicate: of line 2"),
    ]
    funnel = json.loads((tmp_path / "out.funnel.json").read_text())
    assert funnel["written"] == 3
    assert funnel["steps"][0]["rejected"] == {"near_duplicate": 1, "exact_duplicate": 1}
    assert funnel["near_dedup"]["verified_pairs"] == 1


def test_a_folder_of_files_keeps_the_first_copy_and_names_its_file(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    text = (STDLIB / "textwrap.py").read_text()
    (folder / "a.jsonl").write_text(json.dumps({"x": {"code": text}}) + "\n" + json.dumps({"x": {"code": "a = 1"}}) + "\n")
    (folder / "b.jsonl").write_text(json.dumps({"x": {"code": "b = 2"}}) + "\n" + json.dumps({"x": {"code": text}}) + "\n")

    _dedup(folder, "--field", "x.code", "-o", tmp_path / "d.jsonl")

    assert [r["x"]["code"] for r in iter_jsonl(tmp_path / "d.jsonl")] == [text, "a = 1", "b = 2"]
    (reject,) = iter_jsonl(tmp_path / "d.rejects.jsonl")
    assert reject["path"] == str(folder / "b.jsonl") and reject["line"] == 2
    assert reject["reason"] == f"exact_duplicate: of {folder / 'a.jsonl'}:1"


def test_rows_without_text_are_rejected_and_a_field_no_row_has_is_an_error(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"code": "x = 1"}\n{"other": 1}\n{"code": 5}\n')
    _dedup(inp, "--field", "code", "-o", tmp_path / "o.jsonl")
    reasons = [r["reason"] for r in iter_jsonl(tmp_path / "o.rejects.jsonl")]
    assert reasons == ["bad input: line 2 has no field 'code'", "bad input: line 3: field 'code' is int, not text"]

    result = CliRunner().invoke(app, ["dedup", str(inp), "--field", "content", "-o", str(tmp_path / "p.jsonl")])
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == f"no row of {inp} has text in field 'content'; the first row has: code"
    proc = subprocess.run([sys.executable, "-m", "codealign", "dedup", str(inp), "--field", "content", "-o",
                           str(tmp_path / "p.jsonl")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "error: no row of" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p.jsonl").exists()


def test_parquet_input_and_output(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    text = (STDLIB / "fnmatch.py").read_text()
    table = pa.Table.from_pylist([{"code": text, "i": 0}, {"code": "y = 2", "i": 1}, {"code": text + "\n", "i": 2}])
    pq.write_table(table, tmp_path / "in.parquet")

    _dedup(tmp_path / "in.parquet", "--field", "code", "-o", tmp_path / "out.parquet")

    assert pq.read_table(tmp_path / "out.parquet").column("i").to_pylist() == [0, 1]
    (reject,) = iter_jsonl(tmp_path / "out.rejects.jsonl")
    assert reject["row"] == 3 and reject["reason"] == "near_duplicate: of row 1"

    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    _dedup(jsonl, "--field", "code", "-o", tmp_path / "from-jsonl.parquet")
    assert pq.read_table(tmp_path / "from-jsonl.parquet").to_pylist() == table.to_pylist()[:2]


def test_byte_ranges_read_every_line_exactly_once(tmp_path):
    rows = [json.dumps({"i": i, "pad": "x" * (i * 37 % 300)}) for i in range(400)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n")
    size = path.stat().st_size
    for parts in (1, 3, 7, 64):
        cuts = [size * k // parts for k in range(parts + 1)]
        seen = []
        for start, end in zip(cuts, cuts[1:], strict=False):
            seen += [json.loads(line.raw)["i"] for line in scan_lines(path, start, end)]
        assert seen == list(range(400)), parts


def test_a_line_over_the_limit_is_skipped_without_holding_it(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"a": 1}\n{"b": "' + "z" * 5000 + '"}\n{"c": 3}\n')
    got = [(line.lineno, line.raw) for line in scan_lines(path, max_line_bytes=1000)]
    assert got == [(1, b'{"a": 1}'), (2, None), (3, b'{"c": 3}')]
