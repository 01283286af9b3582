"""A few thousand programs through one pool: nothing of ours may be left behind afterwards."""

import os
import tempfile
from pathlib import Path

from codealign.sandbox import Limits, Program, Sandbox, Status
from tests.sandbox.test_hostile import jailed, servers

KINDS = [
    ("def f(x):\n    return x * 2\n", "assert f(3) == 6\n", Status.PASSED),
    ("def f(x):\n    return x\n", "assert f(3) == 6\n", Status.FAILED),
    ("def f(x) return x\n", "", Status.SYNTAX),
    ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n", "", Status.PASSED),
    (
        "import subprocess\nsubprocess.Popen(['sleep', '600'])\nopen('junk', 'w').write('x' * 1000)\n",
        "",
        Status.PASSED,
    ),
    ("import os\nos._exit(0)\n", "assert False\n", Status.CRASHED),
]


def our_children() -> list[int]:
    me = str(os.getpid())
    kids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 :].split()[1] == me:
            kids.append(int(pid))
    return kids


def sandbox_tmpdirs() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("codealign-sandbox-")}


def test_thousands_of_programs_leave_nothing_behind():
    fds, procs, inside = len(os.listdir("/proc/self/fd")), servers(), jailed()
    tmps, kids = sandbox_tmpdirs(), our_children()
    n = 3000
    pulled = []

    def programs():
        for i in range(n):
            pulled.append(i)
            code, tests, _ = KINDS[i % len(KINDS)]
            yield Program(id=str(i), code=code, tests=tests, limits=Limits(timeout=5))

    with Sandbox(workers=2) as sb:
        stream = sb.run(programs())
        first = next(stream)
        assert len(pulled) <= 300  # streaming: the input is read a little ahead, not all at once
        outcomes = [first, *stream]
        assert sb.stats["restarts"] == 0
    assert len(outcomes) == n
    for o in outcomes:
        assert o.status is KINDS[int(o.id) % len(KINDS)][2], o
    assert servers() == procs and jailed() == inside
    assert sandbox_tmpdirs() == tmps
    assert our_children() == kids
    assert len(os.listdir("/proc/self/fd")) == fds
