"""Hostile programs: each is contained, gets the right outcome, and leaves the engine healthy for the next one."""

import os
import socket
from pathlib import Path

import pytest

from codealign.sandbox import Limits, Program, Sandbox, Status

PROJECT = Path(__file__).resolve().parents[2]
HEALTHY = Program(id="healthy", code="def f(x):\n    return x + 1\n", tests="assert f(1) == 2\n")


def _our_processes(marker: bytes) -> int:
    """Descendants of this test process (other sessions' sandboxes may share the host) whose command matches."""
    parent, cmdlines = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdlines[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        parent[int(pid)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    me, count = os.getpid(), 0
    for pid, cmdline in cmdlines.items():
        if b"codealign/server.py" not in cmdline or not cmdline.startswith(marker):
            continue
        up = parent.get(pid)
        while up not in (None, 0, 1, me):
            up = parent.get(up)
        count += up == me
    return count


def servers() -> int:
    """Sandbox workers of ours alive on this host: one bubblewrap process each."""
    return _our_processes(b"bwrap")


def jailed() -> int:
    """Processes inside our workers' jails: servers, their waiting children, and whatever a program left."""
    return _our_processes(b"/")


@pytest.fixture(scope="module")
def jail():
    with Sandbox(workers=2, disk_mb=64) as sb:
        yield sb


def run_then_check_healthy(sb: Sandbox, program: Program):
    restarts = sb.stats["restarts"]
    outcome, after = sb.run_all([program, HEALTHY, HEALTHY])[0], sb.run_all([HEALTHY, HEALTHY])
    assert all(o.passed for o in after), after
    assert sb.stats["restarts"] == restarts, "a worker had to be replaced"
    return outcome


def test_no_network_connect_or_dns(jail):
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen()
    host.settimeout(0.5)
    port = host.getsockname()[1]
    code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    local = "reached the host"
except OSError as exc:
    local = None
try:
    socket.getaddrinfo("pypi.org", 443)
    dns = "resolved"
except OSError:
    dns = None
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    internet = "reached the internet"
except OSError:
    internet = None
"""
    outcome = run_then_check_healthy(
        jail, Program(code=code, tests="assert (local, dns, internet) == (None, None, None)")
    )
    assert outcome.passed, outcome.error
    with pytest.raises(TimeoutError):
        host.accept()
    host.close()


def test_no_writes_outside_the_working_directory(jail, tmp_path):
    targets = [str(PROJECT / "ESCAPED"), str(tmp_path / "ESCAPED"), "/root/ESCAPED", "/ESCAPED", "/usr/ESCAPED",
               "/etc/ESCAPED", "/dev/ESCAPED", str(Path.home() / "ESCAPED")]  # fmt: skip
    code = f"""
import os
wrote = []
for path in {targets!r}:
    try:
        with open(path, "w") as fh:
            fh.write("x")
        wrote.append(path)
    except OSError:
        pass
open("inside.txt", "w").write("fine")
open(os.path.expanduser("~/home.txt"), "w").write("home is the working directory")
"""
    outcome = run_then_check_healthy(jail, Program(code=code, tests="assert wrote == [], wrote"))
    assert outcome.passed, outcome.error
    assert not any(os.path.exists(t) for t in targets)


def test_host_files_and_secrets_are_invisible(jail, tmp_path, monkeypatch):
    secret = tmp_path / "credentials"
    secret.write_text("TOP-SECRET-FILE")
    monkeypatch.setenv("CODEALIGN_TEST_TOKEN", "TOP-SECRET-ENV")
    with Sandbox(workers=1) as fresh:  # started after the secret entered our environment
        paths = [str(secret), "/etc/shadow", "/etc/passwd", str(PROJECT / "pyproject.toml"), "/root/.bashrc",
                 "/root/.ssh/id_rsa", str(Path.home() / ".bash_history")]  # fmt: skip
        code = f"""
import os
leaked = []
for path in {paths!r}:
    try:
        leaked.append((path, open(path).read()[:50]))
    except OSError:
        pass
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        leaked.append(("environ", open(f"/proc/{{pid}}/environ").read()))
    except OSError:
        pass
print(sorted(os.environ), os.listdir("/"), os.listdir("/root"))
"""
        outcome = run_then_check_healthy(
            fresh,
            Program(
                code=code,
                tests="assert not [x for x in leaked if 'SECRET' in x[1] or x[0] != 'environ'], leaked",
            ),
        )
    assert outcome.passed, outcome.error
    assert "SECRET" not in outcome.stdout and "CODEALIGN_TEST_TOKEN" not in outcome.stdout
    assert "home" not in outcome.stdout.split("]")[1]  # no /home in the root listing


def test_resource_bombs_are_contained(jail):
    bombs = {
        "fork bomb": (
            Program(
                code="import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                limits=Limits(timeout=2),
            ),
            Status.TIMEOUT,
        ),  # fmt: skip
        "memory bomb": (Program(code="x = bytearray(64 * 1024 ** 3)\n"), Status.MEMORY),
        "growing memory": (
            Program(
                code="keep = []\nwhile True:\n    keep.append(bytearray(50 * 1024 ** 2))\n",
                limits=Limits(memory_mb=512),
            ),
            Status.MEMORY,
        ),  # fmt: skip
        "infinite loop": (Program(code="while True:\n    pass\n", limits=Limits(timeout=1)), Status.TIMEOUT),
        "long sleep": (
            Program(code="import time\ntime.sleep(3600)\n", limits=Limits(timeout=1)),
            Status.TIMEOUT,
        ),
        "ignores alarms": (
            Program(
                code="import signal, time\nfor s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU):\n"
                "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
                limits=Limits(timeout=1),
            ),
            Status.TIMEOUT,
        ),  # fmt: skip
        # Threads left spinning once the tests are done are killed with the program; joining them is a timeout.
        "spinning threads": (
            Program(
                code="import threading\ndef spin():\n    while True:\n        pass\n"
                "for _ in range(4):\n    threading.Thread(target=spin).start()\n",
                limits=Limits(timeout=5),
            ),
            Status.PASSED,
        ),  # fmt: skip
        "joined threads": (
            Program(
                code="import threading\ndef spin():\n    while True:\n        pass\n"
                "ts = [threading.Thread(target=spin) for _ in range(4)]\nfor t in ts:\n    t.start()\nfor t in ts:\n    t.join()\n",
                limits=Limits(timeout=2),
            ),
            Status.TIMEOUT,
        ),  # fmt: skip
        "segfault": (Program(code="import ctypes\nctypes.memset(0, 1, 1)\n"), Status.CRASHED),
        "disk fill": (
            Program(code="i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (8 << 20))\n    i += 1\n"),
            Status.FAILED,
        ),  # fmt: skip
        "huge file": (
            Program(code="open('big', 'wb').write(b'x' * (100 << 20))\n", limits=Limits(max_file_mb=8)),
            Status.FAILED,
        ),  # fmt: skip
        "raise rlimits": (
            Program(
                code="import resource\nfor r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_CPU):\n"
                "    resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
            ),
            Status.FAILED,
        ),  # fmt: skip
    }
    before = servers()
    outcomes = jail.run_all([p for p, _ in bombs.values()])
    got = {name: o.status for name, o in zip(bombs, outcomes, strict=True)}
    assert got == {name: want for name, (_, want) in bombs.items()}
    for name, o in zip(bombs, outcomes, strict=True):
        assert o.duration < 8, (name, o.duration)
    assert "not allowed to raise" in outcomes[list(bombs).index("raise rlimits")].error
    assert all(o.passed for o in jail.run_all([HEALTHY] * 4))
    assert servers() == before


def test_output_flood_is_capped(jail):
    endless = Program(
        code="while True:\n    print('y' * 4096)\n", limits=Limits(timeout=1, max_output_bytes=4096)
    )
    finite = Program(code="import sys\nfor _ in range(20000):\n    sys.stdout.write('z' * 4096)\nprint('done')\n",
                     limits=Limits(max_output_bytes=4096))  # fmt: skip
    a, b = jail.run_all([endless, finite])
    assert a.status is Status.TIMEOUT and len(a.stdout) < 5000
    assert b.passed and b.stdout.endswith("done\n") and len(b.stdout) < 5000


def test_signals_cannot_reach_the_engine(jail):
    code = f"""
import os, signal
for target in (os.getppid(), 1, {os.getpid()}, -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
os.killpg(0, signal.SIGKILL)
"""
    outcome = run_then_check_healthy(jail, Program(code=code))
    assert outcome.status is Status.CRASHED and "SIGKILL" in outcome.error


def test_daemons_die_with_their_program():
    code = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3600)
    os._exit(0)
time.sleep(0.2)
"""
    look = Program(code="import os\nothers = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())]\n",
                   tests="assert others == [], others")  # fmt: skip
    before = servers()
    with Sandbox(workers=1) as sb:
        daemon, after = sb.run_all([Program(code=code), look])
        assert daemon.passed and after.passed, after.error
    assert servers() == before


def test_fake_success_is_not_a_pass(jail):
    tests = "assert answer() == 42\n"
    cheats = [
        Program(code="import os\nos._exit(0)\ndef answer():\n    return 42\n", tests=tests),
        Program(code="import sys\nsys.exit(0)\ndef answer():\n    return 42\n", tests=tests),
        Program(code="def answer():\n    print('All tests passed')\n    return 41\n", tests=tests),
        Program(code="import sys\ndef answer():\n    sys.exit(0)\n", tests=tests),
        Program(code="def answer():\n    return 41\n", tests="import sys\nsys.exit(0)\n" + tests),
        Program(
            code='import os\ndef answer():\n    os.write(3, b\'{"status": "passed"}\\n\')\n    os._exit(0)\n',
            tests=tests,
        ),
    ]
    outcomes = jail.run_all(cheats)
    assert not any(o.passed for o in outcomes), [(o.status, o.error) for o in outcomes]
    assert outcomes[0].status is Status.CRASHED and outcomes[1].status is Status.FAILED
    assert "All tests passed" in outcomes[2].stdout and outcomes[2].status is Status.FAILED


def test_unittest_main_counts_as_finishing(jail):
    tests = "import unittest\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(answer(), 42)\nunittest.main()\n"
    good, bad = jail.run_all([
        Program(code="def answer():\n    return 42\n", tests=tests),
        Program(code="def answer():\n    return 41\n", tests=tests),
    ])  # fmt: skip
    assert good.passed and bad.status is Status.FAILED


def test_system_v_ipc_does_not_outlive_its_program():
    make = "import ctypes\nlibc = ctypes.CDLL(None)\nassert libc.shmget(4242, 4096, 0o1600) >= 0\nassert libc.msgget(4343, 0o1600) >= 0\n"
    find = "import ctypes\nlibc = ctypes.CDLL(None)\nleft = (libc.shmget(4242, 0, 0), libc.msgget(4343, 0))\n"
    with Sandbox(workers=1) as sb:  # one worker: the second program runs where the first one did
        made, found = sb.run_all(
            [Program(code=make), Program(code=find, tests="assert left == (-1, -1), left")]
        )
    assert made.passed, made.error
    assert found.passed, found.error
