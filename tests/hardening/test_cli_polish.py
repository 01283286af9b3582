"""What the command line shows: flags without a value placeholder, full values when piped, a table for compare,
pass@k without float noise."""

import itertools
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from codealign.cli import COMMAND_MODULES, build_command, reflow
from codealign.evaluate.passk import benchmark_pass_at_k, pass_at_k
from tests.hardening.inputs import write_inputs


@pytest.mark.parametrize("name", [m for m in COMMAND_MODULES if m != "cache"] + ["cache stats", "cache export"])
def test_no_flag_shows_a_value_placeholder(name):
    res = CliRunner().invoke(build_command(), [*name.split(), "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    assert "--help " in res.output


def test_help_of_a_flag_is_its_name_and_its_help():
    res = CliRunner().invoke(build_command(), ["exec", "--help"], env={"COLUMNS": "200"})
    (line,) = [ln for ln in res.output.splitlines() if "--no-cache" in ln]
    assert line.split("--no-cache", 1)[1].split()[0] == "Execute"  # the help text comes right after the name


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_help_paragraphs_are_wrapped_by_the_terminal_not_the_source(name):
    """Help texts are written at source width; a wide terminal shows each prose paragraph's sentences unbroken."""
    command = build_command()
    source = command.commands[name].help or ""
    res = CliRunner().invoke(command, [name, "--help"], env={"COLUMNS": "400"})
    shown = [" ".join(line.split()) for line in res.output.splitlines()]
    for para in source.split("\n\n"):
        lines = [ln for ln in para.splitlines() if ln.strip()]
        if any(ln[:1].isspace() or ln.lstrip().startswith(("- ", "|")) for ln in lines):
            continue
        for before, after in itertools.pairwise(lines):  # where the source broke a line, the screen does not
            joint = f"{before.split()[-1]} {after.split()[0]}"
            assert any(joint in line for line in shown), (joint, para)


def test_reflow_keeps_lists_and_indented_blocks():
    text = "One line\nand its end.\n\n- a list\n- stays\n\n  indented\n  stays"
    assert reflow(text) == "One line and its end.\n\n- a list\n- stays\n\n  indented\n  stays"


def _piped(*argv, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    return subprocess.run([sys.executable, "-m", "codealign", *argv], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)  # fmt: skip


def test_piped_tables_keep_their_values_whole(tmp_path):
    data = write_inputs(tmp_path / "in")["data"]
    res = _piped("measure", str(data), "-o", str(tmp_path / "report"), "--skip", "execution", "-w", "1")
    assert res.returncode == 0, res.stderr
    assert "instruction.compression_ratio.sample" in res.stderr and "…" not in res.stderr


def test_compare_prints_its_table_and_marks_size_bound_figures(tmp_path):
    data = write_inputs(tmp_path / "in")["data"]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(data.read_text().splitlines(keepends=True)[:4]))
    res = _piped("compare", str(small), str(data), "-o", str(tmp_path / "cmp"), "--names", "four,forty",
                 "--skip", "execution", "-w", "1")  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {line.split("│")[2].strip(): line for line in res.stdout.splitlines() if line.count("│") > 4}
    assert "not comparable: measured on 4 vs 40 records" in rows["vendi.code.vendi.sample"]
    assert "not comparable" not in rows["syntax.syntax_valid"]
    assert "--sample-size 4" in res.stderr
    table = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"]
    vendi = next(r for r in table if r["metric"] == "vendi" and r["figure"] == "code.vendi.sample")
    assert vendi["comparable"] is False and vendi["records"] == [4, 40]
    csv_line = next(ln for ln in (tmp_path / "cmp" / "compare.csv").read_text().splitlines()
                    if ln.startswith("diversity,vendi,code.vendi.sample,"))  # fmt: skip
    assert csv_line.endswith(",no,not comparable: measured on 4 vs 40 records")


def test_pass_at_k_is_rounded_to_twelve_places():
    counts = {f"t{i}": (10, 3) for i in range(7)}
    assert pass_at_k(10, 3, 1) != 0.3  # the estimator's own float noise
    assert benchmark_pass_at_k(counts, [1]) == {"pass@1": 0.3}
