import json
import os
import subprocess
import sys

import pytest

from codealign.curate.pipeline import CurateConfig, run_curate
from codealign.errors import InputError
from codealign.records import iter_jsonl, write_rows

from .conftest import STDLIB


def test_curate_jsonl_rows_keep_their_provenance_and_report_bad_lines(tmp_path):
    rows = [
        {"content": (STDLIB / "textwrap.py").read_text(), "path": "lib/textwrap.py", "repo": "acme/text",
         "license": "MIT"},
        {"content": (STDLIB / "bisect.py").read_text(), "path": "lib/bisect.py", "repo": "acme/gpl",
         "license": "GPL-3.0-only"},
    ]  # fmt: skip
    src = tmp_path / "corpus.jsonl"
    src.write_text(json.dumps(rows[0]) + "\n{broken\n" + json.dumps(rows[1]) + "\n")
    out = tmp_path / "seeds.jsonl"
    funnel = run_curate(str(src), out, CurateConfig(), show=False)
    seeds = list(iter_jsonl(out))
    assert seeds and {s["provenance"]["repo"] for s in seeds} == {"acme/text"}
    assert {s["provenance"]["license"] for s in seeds} == {"MIT"}
    files = funnel["steps"][0]
    assert files["rejected"] == {"license": 1, "unreadable": 1}
    rejects = [r for r in iter_jsonl(tmp_path / "seeds.rejects.jsonl") if r["step"] == "files"]
    assert any(r.get("line") == 2 and "invalid JSON" in r["reason"] for r in rejects)


def test_curate_parquet_whole_files(tmp_path):
    pytest.importorskip("pyarrow")
    names = ["colorsys.py", "fnmatch.py", "heapq.py"]
    rows = [{"code": (STDLIB / n).read_text(), "path": n, "license": "PSF-2.0"} for n in names]
    rows.append({"code": "x = '" + "QUJD" * 400 + "'\n", "path": "blob.py", "license": "MIT"})
    src = tmp_path / "files.parquet"
    write_rows(src, rows)
    out = tmp_path / "files.jsonl"
    cfg = CurateConfig(unit="file", filters=[], content_field="code")
    funnel = run_curate(str(src), out, cfg, show=False)
    kept = list(iter_jsonl(out))
    assert sorted(r["provenance"]["path"] for r in kept) == sorted(names)
    assert funnel["steps"][0]["rejected"] == {"max_line_length": 1}


def test_unreachable_hf_dataset_is_a_clear_error(tmp_path):
    pytest.importorskip("datasets")
    # the hub settings are read when huggingface_hub is imported, so this runs as a user would: a fresh process
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "codealign", "curate", "someorg/missing-set", "-o", str(tmp_path / "s.jsonl")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2
    assert "cannot load Hugging Face dataset 'someorg/missing-set'" in " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "s.jsonl").exists()


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="source not found"):
        run_curate(str(tmp_path / "nope"), tmp_path / "s.jsonl", show=False)
