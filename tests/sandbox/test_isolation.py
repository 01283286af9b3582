"""The fallbacks: bare namespaces when bubblewrap is missing, and no isolation only when asked for."""

import pytest

from codealign.errors import SandboxError
from codealign.sandbox import Limits, Program, Sandbox, Status
from codealign.sandbox.isolation import probe, resolve_mode

DAEMON = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"
# Python processes whose parent is this program's parent: a daemon left behind by an earlier program. Without
# isolation the program sees every process of the host, and those of other work may end while it reads them.
LOOK = Program(
    code="import os\n"
    "def read(path, mode='r'):\n"
    "    try:\n"
    "        with open(path, mode) as f:\n"
    "            return f.read()\n"
    "    except OSError:\n"
    "        return None\n"
    "exe = os.readlink('/proc/self/exe').encode()\n"
    "mine = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()\n"
    "        and (read(f'/proc/{p}/cmdline', 'rb') or b'').startswith(exe)]\n"
    "ppids = [s.rsplit(')', 1)[1].split()[1] for s in (read(f'/proc/{p}/stat') for p in mine) if s]\n",
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
