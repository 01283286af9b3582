"""What a user runs: `codealign measure` and `codealign compare` on files, and the HTML they open."""

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from codealign.measure import MeasureConfig, dataset_from_rows, measure
from codealign.measure.report import render_report
from codealign.registry import METRICS

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "embed", "source", "track", "wbr"}
CODEALIGN = [sys.executable, "-m", "codealign"]
WIDE = {**os.environ, "COLUMNS": "300"}  # rich wraps long lines at 80 columns without a terminal


class StrictParser(HTMLParser):
    """Checks that every element is closed in order, and records what the page would fetch."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.fetches, self.text, self.svgs = [], [], [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith("#"):
                self.fetches.append(value)
        if tag == "script":
            self.fetches.append("<script>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> StrictParser:
    p = StrictParser()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    assert not p.fetches, f"the report would fetch {p.fetches}"
    return p


def write_dataset(path: Path, rows, bad_line_at=None):
    lines = [json.dumps(r) for r in rows]
    if bad_line_at is not None:
        lines.insert(bad_line_at, "{not json")
    path.write_text("\n".join(lines) + "\n")


def pipeline_rows(he_rows, n=40):
    """Rows shaped like a run's final/sft.jsonl: a markdown response and properties in the lineage."""
    rows = []
    for i, r in enumerate(he_rows[:n]):
        rows.append({
            "instruction": r["instruction"],
            "response": f"Here is a solution.\n\n```python\n{r['response']}\n```\n",
            "tests": r["tests"],
            "lineage": {"concepts": ["recursion", "lists", f"topic {i % 7}"], "difficulty": ["easy", "medium", "hard"][i % 3],
                        "category": "function"},
            "provenance": {"method": "selfcodealign"},
        })
    return rows


def test_report_shows_every_metric_and_distribution(he_rows, tmp_path):
    ds = dataset_from_rows(pipeline_rows(he_rows), "run")
    m = measure(ds, MeasureConfig(skip=["execution", "near_dup"], workers=1))
    assert "concepts" in m.results and "attributes" in m.results
    report = m.to_dict()
    page = parse(render_report(report, tmp_path / "report.html"))
    text = " ".join(page.text)
    for name, res in m.results.items():
        assert name in text and f"v{res.version}" in text
        for key in res.values:
            assert key in text, f"{name}.{key} missing from the report"
    n_distributions = sum(len(r.distributions) + len(r.counts) for r in m.results.values())
    assert page.svgs == n_distributions >= 15
    assert "recursion" in text and "medium" in text  # concept and difficulty bars


def test_measure_command_on_a_run_directory(he_rows, tmp_path):
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    write_dataset(run / "final" / "sft.jsonl", pipeline_rows(he_rows), bad_line_at=3)
    out = tmp_path / "report"
    proc = subprocess.run([*CODEALIGN, "measure", str(run), "-o", str(out), "--skip", "execution", "--per-item"],
                          capture_output=True, text=True, timeout=120, env=WIDE)
    assert proc.returncode == 0, proc.stderr
    assert "sft.jsonl:4" in proc.stderr and "invalid JSON" in proc.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert report["dataset"]["records"] == 40 and report["dataset"]["bad_line_count"] == 1
    assert report["dataset"]["fields"]["concepts"] == "lineage.concepts"
    expected = {n for n in METRICS.names() if METRICS.get(n).default} - {"execution"}
    assert set(report["metrics"]) == expected
    assert all(m["version"] >= 1 and m["description"] for m in report["metrics"].values())
    assert report["metrics"]["attributes"]["counts"]["difficulty"] == {"easy": 14, "medium": 13, "hard": 13}
    per_item = [json.loads(line) for line in (out / "per_item.jsonl").read_text().splitlines()]
    assert len(per_item) == 40 and per_item[0]["syntax.syntax_valid"] == 1.0
    parse(out / "report.html")


def test_fields_by_dotted_path_and_parquet(he_rows, tmp_path):
    pytest.importorskip("pyarrow")
    from codealign.measure import FieldMap, load_dataset
    from codealign.records import write_rows

    rows = [{"q": {"text": r["instruction"]}, "a": r["response"], "t": r["tests"]} for r in he_rows[:10]]
    write_rows(tmp_path / "d.parquet", rows)
    ds = load_dataset(tmp_path / "d.parquet", FieldMap(instruction="q.text", response="a", tests="t"))
    assert [it.instruction for it in ds.items] == [r["instruction"] for r in he_rows[:10]]
    assert ds.items[0].code == he_rows[0]["response"] and ds.items[0].tests == he_rows[0]["tests"]


def test_compare_command_side_by_side(he_rows, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_dataset(a, he_rows[:60])
    write_dataset(b, [r for r in he_rows[:15] for _ in range(4)])
    out = tmp_path / "cmp"
    proc = subprocess.run(
        [*CODEALIGN, "compare", str(a), str(b), "-o", str(out), "--names", "varied,repeated",
         "--metrics", "syntax,format,vendi,distinct_n"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    table = json.loads((out / "compare.json").read_text())
    assert table["datasets"] == ["varied", "repeated"]
    assert table["x"] == "vendi.code.vendi.sample" and table["y"] == "format.format_valid"
    rows = {(r["metric"], r["figure"]): r["values"] for r in table["rows"]}
    varied, repeated = rows[("vendi", "code.vendi.sample")]
    assert varied > 3 * repeated
    page = parse(out / "compare.html")
    assert page.svgs >= 1 and "Quality–diversity trade-off" in " ".join(page.text)
    header = (out / "compare.csv").read_text().splitlines()[0].split(",")
    assert header[4:] == ["varied", "repeated", "comparable", "note"]
    # Reports can be compared again without measuring: folders holding metrics.json are read as they are.
    again = subprocess.run([*CODEALIGN, "compare", str(out / "1-varied"), str(out / "2-repeated"), "-o", str(tmp_path / "c2")],
                           capture_output=True, text=True, timeout=60, env=WIDE)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "c2" / "compare.json").read_text())["rows"] == table["rows"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "vendy"], "unknown metric 'vendy'; known:"),
        (["--option", "vendi.dimm=5"], "has no option 'dimm'"),
        (["--metrics", "llm_quality"], "--option llm_quality.model=NAME"),
        (["--field", "instruction"], "NAME=dotted.path"),
    ],
)
def test_user_errors_are_one_line(he_rows, tmp_path, args, message):
    data = tmp_path / "d.jsonl"
    write_dataset(data, he_rows[:3])
    proc = subprocess.run([*CODEALIGN, "measure", str(data), "-o", str(tmp_path / "o"), *args],
                          capture_output=True, text=True, timeout=60, env=WIDE)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_embedding_metric_names_its_extra_when_missing():
    import importlib.util

    from codealign.errors import MissingDependency
    from codealign.measure.runner import select_metrics

    if importlib.util.find_spec("sentence_transformers") is not None:
        pytest.skip("sentence-transformers is installed")
    with pytest.raises(MissingDependency, match=r"codealign\[embed\]"):
        select_metrics(MeasureConfig(metrics=["embedding"]))
