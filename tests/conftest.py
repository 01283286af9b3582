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
def _process_state_restored():
    """What a command run in-process leaves behind for its process, which is about to exit, is undone for the test
    session: it ignores Ctrl-C once it finishes (later subprocesses would inherit that), and it widens COLUMNS when
    its output is not a terminal (pytest's own report would be 4,000 columns wide)."""
    handler = signal.getsignal(signal.SIGINT)
    width = {name: os.environ.get(name) for name in ("COLUMNS", "TERMINAL_WIDTH")}
    yield
    signal.signal(signal.SIGINT, handler)
    for name, value in width.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A tiny random Llama with a locally trained tokenizer and a chat template, built once per test session."""
    pytest.importorskip("transformers")
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
