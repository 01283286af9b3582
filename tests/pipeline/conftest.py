from pathlib import Path

import pytest

from codealign.testing.server import ScriptedServer

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "examples" / "seeds.jsonl"


@pytest.fixture
def scripted_server(tmp_path):
    """The scripted OpenAI-compatible server on a free 127.0.0.1 port, logging every request it answers."""
    with ScriptedServer(log_path=tmp_path / "requests.jsonl") as server:
        yield server


def demo_overrides(server: ScriptedServer, run_dir: Path, *extra: str) -> list[str]:
    """`--set` overrides that point examples/demo.yaml at a test server and a test run directory.

    The final measurement is left out (tests of the experiment form check it), so these runs stay quick.
    """
    return [
        f"backend.base_url={server.url}",
        f"run_dir={run_dir}",
        f"seeds.path={SEEDS}",
        "execution.timeout=1",
        "execution.workers=2",
        "measure.enabled=false",
        *extra,
    ]
