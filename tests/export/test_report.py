"""The run report: every step and reason of the funnel with the model's text, pass rates, usage, and the lineage of
final examples back to their source file, repository, commit and license."""

import json
import re
import shutil
import subprocess
import sys
from html import escape

import pytest

from codealign.errors import InputError
from codealign.export.report import write_report
from codealign.records import Record, iter_jsonl
from codealign.runs import RunDir


def rows(path):
    return list(iter_jsonl(path)) if path.exists() else []


def shard_rows(run, stage):
    return [row for p in sorted((run / stage).glob("*[0-9].jsonl")) for row in iter_jsonl(p)]


def lineage_blocks(html):
    """Each traced example's HTML, by its id."""
    return dict(re.findall(r'<div class="lineage" id="example-([^"]+)">(.*?)</ol></div>', html, re.S))


def test_every_step_and_reason_is_shown_with_the_models_text(demo_run):
    path = write_report(demo_run)
    assert path == demo_run / "report.html"
    html = path.read_text()
    funnel = json.loads((demo_run / "funnel.json").read_text())
    steps = {**{k: v["rejected"] for k, v in funnel["stages"].items()},
             **{k: v["by_reason"] for k, v in funnel["selection"].items()}}
    assert len(steps) == len(funnel["stages"]) + len(funnel["selection"])
    for name, reasons in steps.items():
        assert f'id="step-{escape(name)}"' in html
        for reason, count in reasons.items():
            assert f"<b>{escape(reason)}</b> {count:,}" in html, (name, reason)
    # The model's own text for rejects of the LLM stages: the response that rambled past max_tokens, for one.
    response_rejects = rows(demo_run / "rejects" / "response.jsonl")
    assert {r["reason"] for r in response_rejects} == set(funnel["stages"]["response"]["rejected"])
    for reject in response_rejects:
        assert escape(reject["raw"].strip()[:60]) in html, reject["reason"]
    # A failed execution shows the response that failed and what the sandbox said.
    failed = [r for r in shard_rows(demo_run, "execute") if r["outcome"] and r["outcome"]["status"] == "failed"]
    samples = {r["id"]: r for r in shard_rows(demo_run, "response")}
    shown = [r for r in failed if escape(samples[r["sample"]]["data"]["response"][:60]) in html]
    assert shown and all(escape(r["outcome"]["error"][:50]) in html for r in shown)
    # Selection's rejects: the sample whose tests were trivial is shown with its text.
    trivial = [r for r in rows(demo_run / "rejects" / "select.jsonl") if r["reason"] == "asserts_cannot_fail"]
    assert trivial and escape(samples[trivial[0]["sample"]]["data"]["response"][:60]) in html
    # Files written by codealign follow the umask like any other tool's output.
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_pass_rates_outcomes_and_usage_match_the_run(demo_run):
    html = write_report(demo_run).read_text()
    funnel = json.loads((demo_run / "funnel.json").read_text())
    # Selection computes pass rates by category and difficulty on its own; the page must agree.
    for prop in ("category", "difficulty"):
        for value, r in funnel["pass_rate"][prop].items():
            cells = (f'<td>{escape(value)}</td><td class="num">{r["samples"]:,}</td><td class="num">{r["executed"]:,}</td>'
                     f'<td class="num">{r["passed"]:,}</td><td class="num">{100 * r["pass_rate"]:.1f} %</td>')
            assert cells in html, (prop, value)
    executions = shard_rows(demo_run, "execute")
    executed = [r for r in executions if r["outcome"] is not None]
    passed = sum(r["outcome"]["status"] == "passed" for r in executed)
    assert (f'<td>python</td><td class="num">{len(executions)}</td><td class="num">{len(executed)}</td>'
            f'<td class="num">{passed}</td><td class="num">{100 * passed / len(executed):.1f} %</td>') in html
    cpu = sum(r["outcome"]["cpu_time"] for r in executed)
    assert f"{cpu:,.3f} s" in html
    usage = json.loads((demo_run / "usage.json").read_text())
    assert usage["sandbox"]["programs"] == len(executed)
    assert usage["sandbox"]["cpu_seconds"] == pytest.approx(cpu, abs=1e-3)
    assert usage["sandbox"]["outcomes"]["passed"] == passed
    for stage, figures in usage["stages"].items():
        assert f'<td>{stage}</td><td class="num">{figures["requests"]}</td>' in html


def test_lineage_leads_from_a_final_example_to_its_source_file_and_license(curated):
    run = curated["run"]
    html = write_report(run).read_text()
    blocks = lineage_blocks(html)
    final = rows(run / "final" / "sft.jsonl")
    assert len(blocks) == len(final) > 0
    seed_texts = {r["id"]: r["data"]["seed"] for r in shard_rows(run, "seeds")}
    curated_rows = {r["seed"]: r for r in rows(curated["seeds"])}
    licenses = set()
    for row in final:
        block = blocks[row["lineage"]["sample"]]
        source = curated_rows[seed_texts[row["lineage"]["seed"]]]["provenance"]
        start, end = source["lines"]
        assert f"{source['path']}:{start}-{end}" in block
        assert "stats-lib" in block and curated["commit"][:12] in block
        assert f"license <b>{source['license']}</b> ({source['license_class']})" in block
        assert escape(seed_texts[row["lineage"]["seed"]].splitlines()[0]) in block
        assert escape(", ".join(row["concepts"])) in block
        assert escape(row["instruction"]) in block
        licenses.add(source["license"])
    assert licenses == {"MIT", "Apache-2.0"}  # the examples come from both folders of the repository
    # The seeds' own curation is summarised, with its decontamination.
    assert escape(str(curated["seeds"]).replace(".jsonl", ".funnel.json")) in html


def test_report_command(demo_run, tmp_path):
    out = tmp_path / "page.html"
    res = subprocess.run([sys.executable, "-m", "codealign.cli", "report", str(demo_run), "-o", str(out),
                          "--examples", "2", "--no-measure"], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"report: {out}" in res.stdout
    html = out.read_text()
    assert len(lineage_blocks(html)) == 2
    # Links point back into the run directory from wherever the page was written.
    links = re.findall(r'href="([^"#]+)"', html)
    assert links and all((out.parent / link).exists() for link in links)
    res = subprocess.run([sys.executable, "-m", "codealign.cli", "report", str(tmp_path / "nope")],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2
    # One message (rich may wrap it at the terminal's width), no traceback.
    assert "".join(res.stderr.split()) == "".join(f"error: run directory not found: {tmp_path / 'nope'}".split())


def test_unfinished_run_shows_its_finished_shards(demo_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(demo_run, run)
    for name in ("funnel.json", "usage.json", "report.html"):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / "final")
    shutil.rmtree(run / "execute")
    html = write_report(run).read_text()
    assert "This run has not finished" in html
    marker = json.loads((run / "response" / "00000.done").read_text())
    for reason, count in marker["rejected"].items():
        assert f"<b>{escape(reason)}</b> {count:,}" in html
    assert "This run executed nothing" in html
    from codealign.export.dataset import export_run

    with pytest.raises(InputError, match=r"has not finished \(no run.done"):
        export_run(run, tmp_path / "out")


def test_a_run_without_seeds_or_concepts_still_reads(tmp_path):
    """A method with no seeds or concepts, whose one stage writes the instruction and its response in one call:
    the page shows what the run has, and the lineage goes back as far as the records do."""
    run = RunDir(tmp_path / "run")
    task = Record("instruction", {"instruction": "Write `double(x)` returning twice x.", "category": "function",
                                  "difficulty": "easy", "language": "python"})  # fmt: skip
    response = "```python\ndef double(x):\n    return 2 * x\n```"
    sample = Record("sample", {"response": response, "solution": response, "tests": "assert double(2) == 4",
                               "sample_index": 0}, parents=(task.id,),
                    provenance={"model": "m", "method": "evol-instruct", "method_version": "1"})  # fmt: skip
    run.write_shard("problem", 0, [task, sample], [{"reason": "no_tests_split", "raw": "I cannot help."}],
                    {"in": 2, "out": 1, "rejected": {"no_tests_split": 1}, "kinds": {"instruction": 1, "sample": 1}})  # fmt: skip
    outcome = {"id": sample.id, "status": "passed", "cpu_time": 0.01, "duration": 0.02}
    run.write_shard("execute", 0, [{"sample": sample.id, "instruction": task.id, "outcome": outcome}], [],
                    {"in": 1, "out": 1, "rejected": {}})  # fmt: skip
    lineage = {"instruction": task.id, "sample": sample.id, "sample_index": 0, "execution": {"status": "passed"}}
    (run.path / "final").mkdir()
    (run.path / "final" / "sft.jsonl").write_text(json.dumps(
        {"instruction": task.data["instruction"], "response": response, "tests": "assert double(2) == 4",
         "lineage": lineage}) + "\n")  # fmt: skip
    (run.path / "final" / "dpo.jsonl").write_text("")
    run.write_json("funnel.json", {
        "stages": {"problem": {"in": 2, "out": 1, "rejected": {"no_tests_split": 1}},
                   "execute": {"in": 1, "out": 1, "rejected": {}}},
        "selection": {}, "final": {"sft": 1, "dpo": 0}})  # fmt: skip
    html = write_report(run.path, measure=False).read_text()
    block = lineage_blocks(html)[sample.id]
    assert escape(task.data["instruction"]) in block and "passed" in block
    assert "no seeds to trace" in html
    assert "I cannot help." in html
    # Pass rates by the category of an instruction made in the same stage as its response.
    assert '<td>function</td><td class="num">1</td><td class="num">1</td><td class="num">1</td><td class="num">100.0 %</td>' in html
