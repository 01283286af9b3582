"""Seeds from JSONL, Parquet and `codealign curate` output: the code becomes data, everything else provenance."""

import json

import pytest

from codealign.errors import InputError
from codealign.pipeline.seeds import iter_seeds
from codealign.records import Record, write_rows


def test_curate_rows_keep_their_source_as_provenance(tmp_path):
    path = tmp_path / "seeds.jsonl"
    row = {
        "id": "abc123",
        "seed": "def area(w, h):\n    return w * h\n",
        "name": "area",
        "provenance": {"repo": "octo/geometry", "path": "geo.py", "license": "MIT"},
    }
    path.write_text(json.dumps(row) + "\n")
    [seed] = list(iter_seeds(path))
    assert isinstance(seed, Record) and seed.data == {"seed": row["seed"]}
    assert seed.provenance["license"] == "MIT" and seed.provenance["repo"] == "octo/geometry"
    assert seed.provenance["source_id"] == "abc123" and seed.provenance["line"] == 1


def test_parquet_seeds_with_another_column_name_and_a_limit(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "seeds.parquet"
    write_rows(path, [{"code": f"def f{i}(x):\n    return x + {i}\n", "license": "MIT"} for i in range(5)])
    seeds = list(iter_seeds(path, field="code", limit=3))
    assert [s.data["seed"].split("(")[0] for s in seeds] == ["def f0", "def f1", "def f2"]
    assert all(s.provenance["license"] == "MIT" for s in seeds)


def test_missing_seeds_file_names_the_option(tmp_path):
    with pytest.raises(InputError, match="seeds.path"):
        list(iter_seeds(tmp_path / "nope.jsonl"))
