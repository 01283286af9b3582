import os
import signal

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache directory, so no test sees another's cached answers."""
    monkeypatch.setenv("CODEALIGN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CODEALIGN_NO_PLUGINS", "1")
    os.environ.pop("OPENAI_API_KEY", None)


@pytest.fixture(autouse=True)
def _sigint_restored():
    """A command run in-process ignores Ctrl-C once it finishes (as its process is about to exit); the test session
    goes on, so the handler comes back, or every later subprocess would start with SIGINT ignored."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A tiny random Llama with a locally trained tokenizer and a chat template, built once per test session."""
    pytest.importorskip("transformers")
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
