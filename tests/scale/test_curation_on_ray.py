"""`codealign curate` and `codealign dedup` with `--executor ray` on a two-node cluster: the same files as on one
machine, with work done on both nodes."""

import json
import shutil
import sysconfig
from pathlib import Path

from typer.testing import CliRunner

from codealign.cli import app
from codealign.records import iter_jsonl

from .conftest import node_ids

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = sorted(p for p in STDLIB.glob("*.py") if 3000 <= p.stat().st_size <= 30000)[:40]


def _run(args):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _source(root: Path) -> Path:
    """Real standard-library modules, plus a renamed copy of a function (near duplicate) and an exact copy."""
    src = root / "src"
    src.mkdir()
    for p in [*MODULES, STDLIB / "textwrap.py"]:
        shutil.copy(p, src / p.name)
    text = (STDLIB / "textwrap.py").read_text()
    start = text.index("def dedent(")
    body = text[start : text.index("\ndef ", start + 10)]
    (src / "zz_copies.py").write_text(body.replace("def dedent(", "def strip_indent(") + "\n")
    (src / "zz_exact.py").write_text(body + "\n")
    return src


def test_curate_on_ray_writes_the_same_seeds_and_rejects_as_local(tmp_path, ray_cluster):
    src = _source(tmp_path)
    common = ["curate", src, "--licenses", "permissive,unknown", "--decontaminate", ""]
    _run([*common, "-o", tmp_path / "local" / "seeds.jsonl"])
    _run([*common, "-o", tmp_path / "ray" / "seeds.jsonl", "--executor", "ray", "--ray-address", ray_cluster.address])

    for name in ("seeds.jsonl", "seeds.rejects.jsonl"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    local = json.loads((tmp_path / "local" / "seeds.funnel.json").read_text())
    ray = json.loads((tmp_path / "ray" / "seeds.funnel.json").read_text())
    assert local["steps"] == ray["steps"] and local["near_dedup"] == ray["near_dedup"]
    reasons = [r["reason"] for r in iter_jsonl(tmp_path / "ray" / "seeds.rejects.jsonl")]
    assert any(r.startswith("near_duplicate") for r in reasons) and any(r.startswith("exact_duplicate") for r in reasons)
    assert not list((tmp_path / "ray").glob("*.tmp*")), "the spill file is removed"
    # file batches, reading, grouping and checking tasks ran on both nodes
    nodes = node_ids(ray_cluster)
    assert {nodes[n] for n in ray["executor"]["tasks_per_node"]} == {"head", "worker"}


def test_dedup_on_ray_splits_files_into_byte_ranges_and_keeps_the_same_rows(tmp_path, ray_cluster):
    parts = tmp_path / "parts"
    parts.mkdir()
    texts = [p.read_text() for p in MODULES]
    rows = [{"path": p.name, "content": t} for p, t in zip(MODULES, texts, strict=True)]
    rows += [{"path": "copy", "content": texts[3]}, {"path": "edit", "content": texts[5].replace("def ", "def  ", 2)}]
    rows.insert(7, {"path": "no text"})
    for k in range(3):
        (parts / f"{k}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[k::3]) + "\n{broken\n")

    _run(["dedup", parts, "--field", "content", "-o", tmp_path / "local.jsonl"])
    _run(["dedup", parts, "--field", "content", "-o", tmp_path / "ray.jsonl", "--executor", "ray",
                "--ray-address", ray_cluster.address, "--ray-option", "split_mb=0.03", "--ray-option", "partitions=13"])  # fmt: skip

    assert (tmp_path / "local.jsonl").read_bytes() == (tmp_path / "ray.jsonl").read_bytes()
    assert (tmp_path / "local.rejects.jsonl").read_bytes() == (tmp_path / "ray.rejects.jsonl").read_bytes()
    reasons = [r["reason"].split(":")[0] for r in iter_jsonl(tmp_path / "ray.rejects.jsonl")]
    assert sorted(reasons) == ["bad input"] * 4 + ["exact_duplicate", "near_duplicate"]
    local = json.loads((tmp_path / "local.funnel.json").read_text())
    ray = json.loads((tmp_path / "ray.funnel.json").read_text())
    assert local["near_dedup"] == ray["near_dedup"] and local["steps"] == ray["steps"]
    nodes = node_ids(ray_cluster)
    assert {nodes[n] for n in ray["executor"]["tasks_per_node"]} == {"head", "worker"}
