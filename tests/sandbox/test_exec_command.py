import json
import subprocess
import sys


def codealign(*args, cache=None, timeout=120):
    cmd = [sys.executable, "-m", "codealign", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_exec_writes_outcomes_and_skips_bad_lines(tmp_path):
    programs = tmp_path / "programs.jsonl"
    lines = [
        json.dumps({"id": "good", "code": "def f(x):\n    return 2 * x\n", "tests": "assert f(2) == 4\n"}),
        "{not json",
        json.dumps({"id": "bad", "code": "def f(x):\n    return x\n", "tests": "assert f(2) == 4\n"}),
        json.dumps({"id": "nocode", "tests": "assert True"}),
        json.dumps({"id": "slow", "code": "import time\ntime.sleep(30)\n", "timeout": 1}),
        json.dumps({"id": "counted", "code": "def f(x):\n    return x\n", "tests": "for i in range(3):\n    assert f(i) == i\n",
                    "checks": ["asserts"]}),
    ]
    programs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    done = codealign("exec", programs, "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "good": "passed",
        "bad": "failed",
        "slow": "timeout",
        "counted": "passed",
    }
    assert rows["counted"]["checks"] == {"asserts": [{"line": 2, "col": 4, "runs": 3, "failures": 0, "non_bool": 0}]}
    assert "checks" not in rows["good"]
    assert set(rows["good"]) >= {"id", "outcome", "exit_code", "duration", "stdout", "stderr"}
    assert "error" not in rows["good"] and "f(2) == 4" in rows["bad"]["error"]
    assert ":2:" in done.stderr and ":4:" in done.stderr  # bad lines named by number

    again = codealign("exec", programs, "-o", out)
    assert again.returncode == 0
    assert all(r.get("cached") for r in map(json.loads, out.read_text().splitlines()))
    fresh = codealign("exec", programs, "-o", out, "--no-cache")
    assert not any(r.get("cached") for r in map(json.loads, out.read_text().splitlines()))
    assert fresh.returncode == 0


def test_exec_refuses_no_isolation_without_the_flag(tmp_path):
    programs = tmp_path / "p.jsonl"
    programs.write_text(json.dumps({"code": "print(1)"}) + "\n")
    done = codealign("exec", programs, "-o", tmp_path / "o.jsonl", "--isolation", "none")
    assert done.returncode == 2 and "--allow-no-isolation" in done.stderr
    assert "Traceback" not in done.stderr
