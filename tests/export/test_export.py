"""`codealign export`: a `datasets` folder, Parquet the Hub's loader reads, JSONL; a card the Hub's parser reads; the
provenance of every row."""

import json
import socket
import subprocess
import sys
from collections import Counter

import pytest

from codealign.errors import ConfigError, InputError
from codealign.export.card import card_license, hub_license
from codealign.export.dataset import export_run
from codealign.records import iter_jsonl

datasets = pytest.importorskip("datasets")
DatasetCard = pytest.importorskip("huggingface_hub").DatasetCard


def final(run, name="sft"):
    return list(iter_jsonl(run / "final" / f"{name}.jsonl"))


def seed_sources(curated):
    """The curated seed row behind each seed record of the run, by the run's seed id (matched on the code)."""
    by_text = {r["seed"]: r for r in iter_jsonl(curated["seeds"])}
    seeds = [r for p in sorted((curated["run"] / "seeds").glob("*[0-9].jsonl")) for r in iter_jsonl(p)]
    return {r["id"]: by_text[r["data"]["seed"]] for r in seeds}


def test_hf_folder_loads_and_every_row_keeps_its_provenance(curated, tmp_path):
    run = curated["run"]
    out = tmp_path / "ds"
    result = export_run(run, out, "hf")
    loaded = datasets.load_from_disk(str(out))
    sft, dpo = final(run), final(run, "dpo")
    assert {k: len(v) for k, v in loaded.items()} == {"sft": len(sft), "dpo": len(dpo)} == result.rows
    sources = seed_sources(curated)
    by_sample = {row["lineage"]["sample"]: row for row in sft}
    for row in loaded["sft"]:
        original = by_sample[row["sample_id"]]
        source = sources[original["lineage"]["seed"]]
        prov = source["provenance"]
        assert (row["instruction"], row["response"], row["tests"]) == (original["instruction"], original["response"], original["tests"])
        assert row["seed"] == source["seed"] and row["seed_id"] == original["lineage"]["seed"]
        assert (row["source_repo"], row["source_commit"], row["source_path"], row["source_lines"]) == (
            "stats-lib", curated["commit"], prov["path"], prov["lines"])
        assert (row["source_license"], row["source_license_class"]) == (prov["license"], "permissive")
        assert (row["method"], row["model"], row["instruction_id"]) == ("selfcodealign", "scripted", original["lineage"]["instruction"])
        assert json.loads(row["lineage"]) == original["lineage"]
        assert json.loads(row["provenance"]) == original["provenance"]
    seed_of = {row["lineage"]["instruction"]: row["lineage"]["seed"] for row in sft}
    assert len(loaded["dpo"]) > 0
    for row in loaded["dpo"]:
        prov = sources[seed_of[row["instruction_id"]]]["provenance"]
        assert (row["source_path"], row["source_commit"], row["source_license"]) == (prov["path"], curated["commit"], prov["license"])
    # The card: the Hub's parser reads it; the license is every license of the seeds behind the examples.
    card = DatasetCard.load(out / "README.md")
    expected = sorted({sources[r["lineage"]["seed"]]["provenance"]["license"].lower() for r in sft})
    assert expected == ["apache-2.0", "mit"]
    assert card.data.license == expected == result.license
    assert card.data.size_categories == ["n<1K"]
    assert card.data.task_categories == ["text-generation"]
    assert "code" in card.data.tags and card.data.language == ["en"]
    assert "## Opt-out" in card.text and "## Decontamination" in card.text


def test_parquet_is_what_the_hubs_loader_reads(demo_run, tmp_path):
    out = tmp_path / "pq"
    export_run(demo_run, out, "parquet", shard_rows=3, contact="data@example.org")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert files == ["data/dpo/train-00000-of-00001.parquet", "data/sft/train-00000-of-00002.parquet",
                     "data/sft/train-00001-of-00002.parquet"]  # fmt: skip
    # The card's `configs` tell `load_dataset` where each config's files are, as on the Hub.
    sft = datasets.load_dataset(str(out), "sft", split="train", cache_dir=str(tmp_path / "cache"))
    dpo = datasets.load_dataset(str(out), "dpo", split="train", cache_dir=str(tmp_path / "cache"))
    assert sorted(sft["instruction"]) == sorted(r["instruction"] for r in final(demo_run))
    assert sorted(dpo["chosen"]) == sorted(r["chosen"] for r in final(demo_run, "dpo"))
    # Seeds with only `repo` and `license` columns: those are kept, the rest is empty, never made up.
    assert all(r["source_repo"].startswith("example/") and r["source_commit"] is None for r in sft)
    card = DatasetCard.load(out / "README.md")
    licenses = Counter(r["source_license"] for r in sft)
    assert card.data.license == sorted(lic.lower() for lic in licenses)
    funnel = json.loads((demo_run / "funnel.json").read_text())
    concepts = funnel["stages"]["concepts"]
    assert f"| concepts | {concepts['in']} | {concepts['out']} | no_concepts 1 |" in card.text
    assert "data@example.org" in card.text
    for lic, n in licenses.items():
        assert f"| {lic} | {n} |" in card.text


def test_jsonl_export_refuses_to_overwrite_without_force(demo_run, tmp_path):
    out = tmp_path / "js"
    export_run(demo_run, out, "jsonl")
    rows = list(iter_jsonl(out / "data" / "sft" / "train.jsonl"))
    assert [r["sample_id"] for r in rows] == [r["lineage"]["sample"] for r in final(demo_run)]
    before = (out / "README.md").read_text()
    with pytest.raises(InputError, match="pass --force"):
        export_run(demo_run, out, "jsonl")
    export_run(demo_run, out, "parquet", force=True)
    assert not (out / "data" / "sft" / "train.jsonl").exists() and (out / "README.md").read_text() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["js"]  # no temporary folder left behind
    with pytest.raises(ConfigError, match="unknown export format 'xml'"):
        export_run(demo_run, tmp_path / "x", "xml")


@pytest.mark.network
def test_push_to_an_unreachable_hub_is_one_line(demo_run, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_TOKEN": "hf_test_token", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5", "PATH": "/usr/bin:/bin"}  # fmt: skip
    res = subprocess.run([sys.executable, "-m", "codealign.cli", "export", str(demo_run), "-o", str(tmp_path / "d"),
                          "--no-measure", "--push-to-hub", "someone/demo"], capture_output=True, text=True, env=env,
                         timeout=240)  # fmt: skip
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error: cannot push to the Hub dataset someone/demo:") and "Traceback" not in res.stderr
    assert (tmp_path / "d" / "README.md").exists()  # the local export is kept


def test_hub_license_identifiers():
    assert hub_license("MIT") == "mit"
    assert hub_license("GPL-3.0-only") == "gpl-3.0"
    assert hub_license("PSF-2.0") == "other"
    assert hub_license(None) == hub_license("unknown") == "unknown"
    assert card_license(Counter({"MIT": 3})) == "mit"
    assert card_license(Counter({"MIT": 3, "Apache-2.0": 1, "unknown": 2})) == ["apache-2.0", "mit", "unknown"]
    assert card_license(Counter()) == "unknown"
