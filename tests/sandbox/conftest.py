import pytest

from codealign.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    """One pool per test module: the engine must stay healthy across everything a module throws at it."""
    with Sandbox(workers=2) as sb:
        yield sb
