"""Without the Hugging Face hub, a hub id fails in one line without waiting out the hub library's retries."""

import subprocess
import sys

import pytest

from tests.hardening.checks import assert_no_noise

LOAD = ("from codealign.llm import load_backend\n"
        "b = load_backend({'type': 'transformers', 'model': 'someone/some-model'})\n"
        "b.load()\n")  # fmt: skip


def test_a_model_id_without_the_hub_fails_at_once(no_hub):
    res = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, env=no_hub, timeout=300)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("codealign.errors.BackendError: model 'someone/some-model' is not a local folder and the "
                           "Hugging Face hub cannot be reached (127.0.0.1: Connection refused)")
    assert "Retrying" not in res.stderr  # the hub library was never asked


def test_a_model_id_with_the_hub_switched_off_names_the_switch(no_hub):
    res = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True,
                         env={**no_hub, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert "not in the Hugging Face cache, and the hub is switched off (HF_HUB_OFFLINE=1)" in res.stderr


def test_curating_a_hub_dataset_without_the_hub_is_one_line(no_hub, tmp_path):
    pytest.importorskip("datasets")
    res = subprocess.run([sys.executable, "-m", "codealign", "curate", "someone/some-dataset", "-o",
                          str(tmp_path / "s.jsonl")], capture_output=True, text=True, env=no_hub, timeout=300)
    assert res.returncode == 2, res.stderr
    assert_no_noise(res.stdout + res.stderr)
    (line,) = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert "cannot load Hugging Face dataset 'someone/some-dataset' (the hub cannot be reached" in line
    assert "Retrying" not in res.stderr
