"""The fallbacks: bare namespaces when bubblewrap is missing, and no isolation only when asked for."""

import pytest

from codealign.errors import SandboxError
from codealign.sandbox import Limits, Program, Sandbox, Status
from codealign.sandbox.isolation import probe, resolve_mode

DAEMON = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"
LOOK = Program(
    code="import os\nmine = [p for p in os.listdir('/proc') if p.isdigit() and open(f'/proc/{p}/cmdline', 'rb')"
    ".read().startswith(os.readlink('/proc/self/exe').encode()) and int(p) != os.getpid()]\n"
    "ppids = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1] for p in mine]\n",
    tests="assert str(os.getppid()) not in ppids, ppids",
)


def test_none_needs_the_explicit_flag():
    with pytest.raises(SandboxError, match="--allow-no-isolation"):
        resolve_mode("none")
    with pytest.raises(SandboxError, match="unknown isolation"):
        resolve_mode("docker")


@pytest.mark.skipif(not probe("unshare"), reason="no unprivileged namespaces here")
def test_unshare_fallback_still_cuts_the_network_and_warns():
    with pytest.warns(RuntimeWarning, match="bubblewrap"), Sandbox(workers=1, isolation_mode="unshare") as sb:
        net, loop, daemon, look = sb.run_all([
            Program(code="import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n"),
            Program(code="while True:\n    pass\n", limits=Limits(timeout=1)),
            Program(code=DAEMON),
            LOOK,
        ])  # fmt: skip
    assert net.status is Status.FAILED and "unreachable" in net.error
    assert loop.status is Status.TIMEOUT and daemon.passed
    assert look.passed, look.error


def test_no_isolation_still_kills_daemons_and_deadlines():
    with pytest.warns(RuntimeWarning, match="WITHOUT ISOLATION"):
        sb = Sandbox(workers=1, isolation_mode="none", allow_no_isolation=True)
    with sb:
        loop, daemon, look = sb.run_all([Program(code="import time\ntime.sleep(60)\n", limits=Limits(timeout=1)),
                                         Program(code=DAEMON), LOOK])  # fmt: skip
    assert loop.status is Status.TIMEOUT and daemon.passed
    assert look.passed, look.error
