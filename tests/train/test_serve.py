"""`transformers serve` serves a trained output folder as it is, chat template included."""

import httpx
import pytest

from codealign.train import train
from tests.serving import transformers_serve
from tests.train.conftest import config, write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.network]


def test_transformers_serve_loads_the_trained_folder(tiny_model_path, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": f"Return {i}.", "response": f"return {i}"} for i in range(8)])
    out = tmp_path / "model"
    train(config(tiny_model_path, out, str(data), peft="lora", epochs=2))
    with transformers_serve(out, tmp_path) as base_url:
        reply = httpx.post(f"{base_url}/chat/completions", timeout=120, json={
            "model": str(out), "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user", "content": "Return 3."}]})  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert isinstance(reply.json()["choices"][0]["message"]["content"], str)
