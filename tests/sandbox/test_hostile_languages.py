"""Hostile programs in every compiled language: contained, with the right outcome, and the engine healthy after."""

import os
import socket

import pytest

from codealign.registry import LANGUAGES
from codealign.sandbox import Limits, Program, Sandbox, Status
from tests.sandbox.language_cases import LANGUAGES as NAMES
from tests.sandbox.language_cases import OUTCOMES, TARGETS, hostile
from tests.sandbox.test_hostile import servers

AVAILABLE = [name for name in NAMES if LANGUAGES.get(name)().available()]
pytestmark = pytest.mark.skipif(not AVAILABLE, reason="no compiler or runtime beyond Python is installed")

# Run right after a daemon, on the same worker: nothing but the worker and this program may be alive in the jail.
LOOK = Program(
    code="import os\nothers = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())]\n",
    tests="assert others == [], others",
)


def make(language: str, case: str, cases: dict) -> Program:
    code, tests, limits = cases[language][case]
    return Program(id=f"{language}/{case}", language=language, code=code, tests=tests, limits=Limits(**limits))


def test_hostile_programs_are_contained():
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen()
    host.settimeout(0.5)
    cases = hostile(host.getsockname()[1])
    attacks = [make(lang, case, cases) for lang in AVAILABLE for case in ("fork_bomb", "network", "writes")]
    healthy = [make(lang, "passed", OUTCOMES) for lang in AVAILABLE]
    before = servers()
    with Sandbox(workers=2, languages=["python", *AVAILABLE]) as sb:
        got = {o.id: o for o in sb.run_all(attacks)}
        after = sb.run_all(healthy * 2)  # every worker runs something after the attacks
        restarts = sb.stats["restarts"]
    assert servers() == before
    with pytest.raises(TimeoutError):
        host.accept()
    host.close()
    for lang in AVAILABLE:
        bomb, net, writes = (got[f"{lang}/{case}"] for case in ("fork_bomb", "network", "writes"))
        assert bomb.status is Status.TIMEOUT and bomb.duration < 8, (lang, bomb)
        assert net.passed, (lang, net.error, net.stderr[-500:])
        assert writes.passed, (lang, writes.error, writes.stderr[-500:])
    assert not [t for t in TARGETS if os.path.exists(t)]
    assert all(o.passed for o in after) and restarts == 0, [(o.id, o.status, o.error) for o in after]


def test_daemons_die_with_their_program():
    cases = hostile(9)
    programs = []
    for lang in AVAILABLE:
        programs += [make(lang, "daemon", cases), LOOK.model_copy(update={"id": f"{lang}/look"})]
    before = servers()
    with Sandbox(workers=1, languages=["python", *AVAILABLE]) as sb:  # one worker: each look follows its daemon
        got = {o.id: o for o in sb.run_all(programs)}
        restarts = sb.stats["restarts"]
    assert servers() == before and restarts == 0
    for lang in AVAILABLE:
        daemon, look = got[f"{lang}/daemon"], got[f"{lang}/look"]
        assert daemon.passed, (lang, daemon.status, daemon.error, daemon.stderr[-500:])
        assert look.passed, (lang, look.error)
