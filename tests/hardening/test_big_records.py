"""One absurd record costs a bounded amount of memory: it is hashed in windows, and past 16 MiB it is skipped."""

import json
import random

import numpy as np

import codealign.curate.minhash as minhash
from tests.hardening.inputs import cli


def _texts():
    rng = random.Random(0)
    words = ["".join(rng.choice("abAB_cé1") for _ in range(rng.randint(1, 9))) for _ in range(300)]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 4000))) for _ in range(20)]
    return [*texts, "x" * 5000, "", "tok", "a b", "Z" * 300]


def test_hashing_in_windows_gives_the_same_signatures_and_sets(monkeypatch):
    texts = _texts()
    hasher = minhash.MinHasher(64)
    whole = hasher.signatures(texts), [minhash.shingle_set(t) for t in texts], minhash.token_hashes(texts)
    # Tiny windows and chunks: every document, long or short, goes through the windowed paths.
    monkeypatch.setattr(minhash, "_WINDOW", 97)
    monkeypatch.setattr(minhash, "_CHUNK_TOKENS", 5)
    windowed = hasher.signatures(texts), [minhash.shingle_set(t) for t in texts], minhash.token_hashes(texts)
    assert np.array_equal(whole[0], windowed[0])
    assert all(np.array_equal(a, b) for a, b in zip(whole[1], windowed[1], strict=True))
    assert np.array_equal(whole[2][0], windowed[2][0]) and np.array_equal(whole[2][1], windowed[2][1])


def test_dedup_skips_a_record_over_the_limit_with_its_size(tmp_path):
    data = tmp_path / "data.jsonl"
    with data.open("w") as fh:
        fh.write(json.dumps({"text": "first row of words"}) + "\n")
        fh.write(json.dumps({"text": "w " * 9_000_000}) + "\n")  # 18 MB
        fh.write(json.dumps({"text": "first row of words"}) + "\n")
    res = cli(["dedup", str(data), "--field", "text", "-o", str(tmp_path / "out.jsonl")])
    assert res.returncode == 0, res.stderr
    assert "data.jsonl:2: line of 18.0 MB is over the 16 MiB limit per record" in res.stderr
    assert (tmp_path / "out.jsonl").read_text() == '{"text": "first row of words"}\n'
