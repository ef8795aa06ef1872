"""The sandbox escape suite: run real escape attempts against a backend.

Every sandbox backend declares, in its ``contains`` attribute, which of the probes
below it contains. :func:`run_escape_suite` runs every probe; :func:`assert_claims`
fails when a claimed probe escaped (or could not be judged). Probes a backend does not
claim are reported, not asserted. ``scripts/sandbox_escape_table.py`` writes the
per-backend tables in ``docs/sandboxes.md`` from these reports.

Probes (each is bounded: it cannot harm the host even when it escapes):

=================== ==========================================================
``write_outside``   create a file in a host directory beside the workspace
``read_shadow``     read ``/etc/shadow`` (judged against the host's real file)
``read_ssh_key``    read a planted ``$HOME/.ssh/id_rsa`` outside the workspace
``loopback_connect`` connect to a TCP server on host ``127.0.0.1`` started here
``fork_bomb``       start 1000 sleeping processes (contained: some fork fails)
``memory_bomb``     map and touch 5 GiB (contained: allocation fails or is killed)
``cpu_timeout``     spin past a 2 s timeout (contained: killed, result says so)
``background_child`` leave a ``setsid`` child behind (contained: none survives)
``env_inherit``     find an API key set in the agent's environment in ``env``
``env_other_process`` read ``/proc/PID/environ`` of a same-user process holding a key
``ptrace_parent``   ``PTRACE_SEIZE`` the agent process (seize: never stops it)
``env_unlisted``    find ``GH_PAT``/``DATABASE_URL`` values (names no deny list knows)
``memory_split``    five processes holding 1 GiB each at once (a per-process limit passes)
``memory_tmpfs``    write 5 x 1 GiB into a tmpfs (``/dev/shm`` or ``/tmp``)
``metadata_outside`` ``chmod``/``utime``/``setxattr``/``chown`` a host file outside
``dev_shm``         read and append to a host file planted in ``/dev/shm``
``dev_pts``         write to a host pseudo-terminal planted under ``/dev/pts``
``io_uring_socket`` open a UDP socket with ``IORING_OP_SOCKET`` and reach a host
                    loopback UDP server
``guest_output``    replace the backend's output/control files by symlinks to a
                    host secret (and ``/dev/zero``)
``setuid_left``     leave a setuid/setgid binary and a device node in the workspace
``hardlink_outside`` hard-link a host file outside into the workspace and append
``nested_userns``   create a user namespace on the host kernel
``capabilities``    hold any capability on the host kernel
``unix_socket``     connect to a host pathname (0666) and an abstract unix socket
=================== ==========================================================

**Tiers.** Each backend has a tier (:data:`TIERS`: process < landlock < bwrap <
gvisor ≈ container < microvm) and must *claim and contain* every probe its tier
implies (:data:`TIER_REQUIRES`), so an empty ``contains`` fails :func:`assert_claims`.

Usage in a backend's tests::

    from teragent_testing.escape import run_escape_suite, assert_claims

    report = asyncio.run(run_escape_suite(MyBackend()))
    assert_claims(report)
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

__all__ = ["PROBES", "ProbeResult", "EscapeReport", "EscapeLab", "run_escape_suite",
           "assert_claims", "render_markdown", "TIERS", "TIER_REQUIRES"]

PY = "/usr/bin/python3"
FAKE_KEY_NAME = "TERAGENT_ESCAPE_TEST_API_KEY"

PROBES: dict[str, str] = {
    "write_outside": "write a file outside the workspace",
    "read_shadow": "read /etc/shadow",
    "read_ssh_key": "read a planted ~/.ssh/id_rsa outside the workspace",
    "loopback_connect": "connect to a TCP server on host 127.0.0.1",
    "fork_bomb": "start 1000 processes",
    "memory_bomb": "allocate and touch 5 GiB",
    "cpu_timeout": "spin past a short timeout",
    "background_child": "leave a setsid background child running",
    "env_inherit": "see an API key from the agent's environment",
    "env_other_process": "read /proc/PID/environ of a same-user process",
    "ptrace_parent": "ptrace (PTRACE_SEIZE) the agent process",
    "env_unlisted": "see GH_PAT / DATABASE_URL from the agent's environment",
    "memory_split": "five processes holding 1 GiB each",
    "memory_tmpfs": "write 5 GiB into a tmpfs",
    "metadata_outside": "chmod/utime/setxattr/chown a host file outside",
    "dev_shm": "read or append to a host file in /dev/shm",
    "dev_pts": "write to a host terminal under /dev/pts",
    "io_uring_socket": "reach a host UDP server through an io_uring socket",
    "guest_output": "turn the output channel into a host secret or /dev/zero",
    "setuid_left": "leave a setuid binary or a device node in the workspace",
    "hardlink_outside": "hard-link and change a host file outside",
    "nested_userns": "create a user namespace on the host kernel",
    "capabilities": "hold a capability on the host kernel",
    "unix_socket": "connect to host pathname and abstract unix sockets",
}

#: Backend name -> tier (higher contains more).
TIERS: dict[str, int] = {"process": 0, "landlock": 1, "bwrap": 2, "gvisor": 3,
                         "container": 3, "microvm": 4}
_BASE = frozenset({"cpu_timeout", "env_inherit", "env_unlisted", "setuid_left",
                   "capabilities", "guest_output"})
_CONFINED = _BASE | {"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                     "background_child", "env_other_process", "ptrace_parent",
                     "metadata_outside", "dev_shm", "dev_pts", "io_uring_socket",
                     "hardlink_outside", "nested_userns", "unix_socket"}
#: Tier -> the probes a backend of that tier must claim (and contain). Tiers order
#: isolation; resource limits (fork and memory bombs, memory split across processes
#: or held in a tmpfs) are claimed per backend, since they depend on rlimits and on
#: cgroups this host may not delegate (docs/sandboxes.md).
TIER_REQUIRES: dict[int, frozenset[str]] = {
    0: _BASE,
    1: _CONFINED,
    2: _CONFINED,
    3: _CONFINED,
    4: _CONFINED,
}


@dataclass
class ProbeResult:
    """One probe against one backend."""

    name: str
    claimed: bool
    contained: bool | None  # None: could not be judged
    detail: str


@dataclass
class EscapeReport:
    backend: str
    results: list[ProbeResult] = field(default_factory=list)
    environment: str = ""
    #: Everything the backend claims (also probes not run this time).
    claims: frozenset[str] = frozenset()

    def by_name(self) -> dict[str, ProbeResult]:
        return {r.name: r for r in self.results}


class EscapeLab:
    """The scene the probes act on: a workspace, a directory beside it, a planted
    home with an SSH key, a loopback server, a decoy process with a key in its
    environment, and the key in our own environment. Use as a context manager."""

    def __init__(self) -> None:
        self.base = ""
        self.marker = f"sk-escape-{random.randrange(10**12):012d}"
        self.decoy: subprocess.Popen[bytes] | None = None
        self.server: socket.socket | None = None
        self.cpu_timeout = 2.0
        self._old_env: dict[str, str | None] = {}

    def __enter__(self) -> EscapeLab:
        self.base = tempfile.mkdtemp(prefix="teragent-escape-")
        os.chmod(self.base, 0o755)
        self.workspace = os.path.join(self.base, "ws")
        self.outside = os.path.join(self.base, "outside")
        self.home = os.path.join(self.base, "home")
        for d in (self.workspace, self.outside, os.path.join(self.home, ".ssh")):
            os.makedirs(d)
        self.key_path = os.path.join(self.home, ".ssh", "id_rsa")
        with open(self.key_path, "w") as fh:
            fh.write(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{self.marker}\n")
        os.chmod(self.key_path, 0o600)
        if os.geteuid() == 0:
            # Backends that drop root run as nobody: give them the workspace.
            os.chown(self.workspace, 65534, 65534)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.setblocking(False)
        self.port = self.server.getsockname()[1]
        self.decoy = subprocess.Popen(["sleep", "600"], env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), FAKE_KEY_NAME: self.marker})
        # Files outside the workspace: a metadata target (0644, like most host files)
        # and a world-writable hard-link target (only the sandbox keeps it safe).
        self.meta_path = os.path.join(self.outside, "meta.txt")
        self.link_target = os.path.join(self.outside, "target.txt")
        for path in (self.meta_path, self.link_target):
            with open(path, "w") as fh:
                fh.write("outside-original\n")
            os.chmod(path, 0o666)
        os.chmod(self.meta_path, 0o644)
        self.meta_before = _meta(self.meta_path)
        self.shm_path = ""
        if os.path.isdir("/dev/shm"):
            self.shm_path = f"/dev/shm/teragent-escape-{random.randrange(10**9)}"
            with open(self.shm_path, "w") as fh:
                fh.write(self.marker + "\n")
            os.chmod(self.shm_path, 0o666)
        self.pty_master, self.pty_slave = os.openpty()
        self.pty_name = os.ttyname(self.pty_slave)
        os.chmod(self.pty_name, 0o666)
        os.set_blocking(self.pty_master, False)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.udp_port = self.udp.getsockname()[1]
        # Host unix sockets: a world-writable pathname one (like the D-Bus system bus)
        # and an abstract one.
        self.unix_path = os.path.join(self.outside, "host.sock")
        self.unix_name = f"teragent-escape-{random.randrange(10**9)}"
        self.unix_servers = []
        for address in (self.unix_path, "\0" + self.unix_name):
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(address)
            srv.listen(8)
            srv.setblocking(False)
            self.unix_servers.append(srv)
        os.chmod(self.unix_path, 0o666)
        for name, value in ((FAKE_KEY_NAME, self.marker), ("HOME", self.home),
                            ("GH_PAT", f"ghp_{self.marker}"),
                            ("DATABASE_URL", f"postgres://app:{self.marker}@db/app")):
            self._old_env[name] = os.environ.get(name)
            os.environ[name] = value
        return self

    def __exit__(self, *exc: Any) -> None:
        for name, value in self._old_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self.decoy is not None:
            self.decoy.kill()
            self.decoy.wait()
        if self.server is not None:
            self.server.close()
        self.udp.close()
        for srv in self.unix_servers:
            srv.close()
        for fd in (self.pty_master, self.pty_slave):
            os.close(fd)
        if self.shm_path:
            try:
                os.unlink(self.shm_path)
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def accepted_connection(self) -> bool:
        """Whether anything connected to the loopback server (drains the backlog)."""
        assert self.server is not None
        got = False
        while True:
            try:
                conn, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return got
            got = True
            conn.close()

    def write_script(self, name: str, source: str) -> str:
        path = os.path.join(self.workspace, f".escape_{name}.py")
        with open(path, "w") as fh:
            fh.write(source)
        os.chmod(path, 0o644)
        return path


# --- the probes -------------------------------------------------------------------------


def _host_shadow_line() -> str | None:
    try:
        with open("/etc/shadow") as fh:
            for line in fh:
                if line.strip():
                    return line.strip()
    except OSError:
        return None
    return None


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if token.encode() in fh.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


Judge = Callable[[EscapeLab, str, Any], "tuple[bool | None, str]"]


@dataclass
class _Probe:
    name: str
    command: Callable[[EscapeLab], str]
    judge: Judge
    timeout: float = 30.0
    batchable: bool = True


def _cmd_write(lab: EscapeLab) -> str:
    return f"echo pwned > {lab.outside}/escaped.txt"


def _judge_write(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    path = os.path.join(lab.outside, "escaped.txt")
    if os.path.exists(path):
        return False, "the file appeared on the host"
    return True, _last_line(out) or "no file on the host"


def _cmd_shadow(lab: EscapeLab) -> str:
    return "cat /etc/shadow"


def _judge_shadow(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    line = _host_shadow_line()
    if line is None:
        return None, "the host has no readable /etc/shadow to compare with"
    if line in out:
        return False, "the host's /etc/shadow was printed"
    return True, _last_line(out) or "nothing printed"


def _cmd_ssh(lab: EscapeLab) -> str:
    return f"cat {lab.key_path}; cat \"$HOME/.ssh/id_rsa\""


def _judge_marker(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if lab.marker in out:
        return False, "the secret marker appeared in the output"
    return True, _last_line(out) or "marker not seen"


def _cmd_connect(lab: EscapeLab) -> str:
    script = lab.write_script("connect", (
        "import socket, sys\n"
        "try:\n"
        f"    s = socket.create_connection(('127.0.0.1', {lab.port}), timeout=5)\n"
        "    s.sendall(b'escaped'); s.close(); print('connected')\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"))
    return f"{PY} {script} || nc -w 3 127.0.0.1 {lab.port} </dev/null"


def _judge_connect(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if lab.accepted_connection():
        return False, "the host server accepted a connection"
    return True, _last_line(out) or "no connection"


def _cmd_fork(lab: EscapeLab) -> str:
    script = lab.write_script("fork", (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(1000):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as e:\n"
        "        print('fork failed:', e); break\n"
        "    if pid == 0:\n"
        "        time.sleep(5); os._exit(0)\n"
        "    n += 1\n"
        "print(f'spawned={n}', flush=True)\n"
        "os._exit(0)\n"))
    return f"{PY} {script}"


def _judge_fork(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "spawned=1000" in out:
        return False, "all 1000 processes started"
    return True, _last_line(out) or "the bomb was stopped"


def _cmd_memory(lab: EscapeLab) -> str:
    script = lab.write_script("memory", (
        "import mmap\n"
        "size = 5 << 30\n"
        "m = mmap.mmap(-1, size)\n"
        "for i in range(0, size, 4096):\n"
        "    m[i] = 1\n"
        "print('allocated', size, flush=True)\n"))
    return f"{PY} {script}"


def _judge_memory(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "allocated" in out:
        return False, "5 GiB were allocated and touched"
    return True, _last_line(out) or "the allocation failed"


def _cmd_cpu(lab: EscapeLab) -> str:
    return "while :; do :; done"


def _judge_cpu(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if res is None:
        return None, "not run"
    limit = lab.cpu_timeout + 20
    if res.timed_out and res.duration < limit:
        return True, f"killed after {res.duration:.1f} s, timed_out reported"
    if res.exit_code != 0 and res.duration < limit:
        return True, f"killed (exit {res.exit_code}) after {res.duration:.1f} s"
    return False, f"ran {res.duration:.1f} s (timed_out={res.timed_out})"


def _bg_token(lab: EscapeLab) -> str:
    return f"3600.{int(lab.marker[-6:]):06d}"


def _cmd_background(lab: EscapeLab) -> str:
    return f"setsid sleep {_bg_token(lab)} >/dev/null 2>&1 </dev/null & echo started"


def _judge_background(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    left = _processes_with(_bg_token(lab))
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if left:
        return False, f"{len(left)} process(es) survived the command (killed now)"
    return True, "nothing survived"


def _cmd_env(lab: EscapeLab) -> str:
    return "env"


def _cmd_environ(lab: EscapeLab) -> str:
    decoy = lab.decoy.pid if lab.decoy else 0
    return f"cat /proc/{decoy}/environ; cat /proc/{os.getpid()}/environ"


def _agent_start_time() -> str:
    """Field 22 of /proc/self/stat: the agent's start time, which identifies *this*
    process, not just its pid number (another pid namespace or a VM has its own)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _cmd_ptrace(lab: EscapeLab) -> str:
    pid, started = os.getpid(), _agent_start_time()
    script = lab.write_script("ptrace", (
        "import ctypes, os\n"
        f"pid, started = {pid}, {started!r}\n"
        "try:\n"
        "    stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[19]\n"
        "except (OSError, IndexError):\n"
        "    stat = None\n"
        "if started and stat is not None and stat != started:\n"
        "    print('ptrace=pid is another process here (not the agent)')\n"
        "    raise SystemExit(0)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
        "r = libc.ptrace(0x4206, pid, None, None)\n"
        "print('ptrace=ok' if r == 0 else 'ptrace=' + os.strerror(ctypes.get_errno()))\n"))
    return f"{PY} {script}"


def _judge_ptrace(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "ptrace=ok" in out:
        return False, "PTRACE_SEIZE of the agent succeeded"
    if "ptrace=" not in out:
        return None, _last_line(out) or "the probe did not run"
    return True, _last_line(out)


def _meta(path: str) -> tuple[Any, ...]:
    st = os.lstat(path)
    try:
        xattrs = tuple(sorted(os.listxattr(path)))
    except OSError:
        xattrs = ()
    return (st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime), xattrs)


def _host_boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _on_host_kernel(out: str) -> bool:
    """Whether the probe ran on this host's kernel (not a guest's or gVisor's)."""
    boot = _host_boot_id()
    return bool(boot) and f"boot={boot}" in out


_BOOT = "echo boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"


def _cmd_env_unlisted(lab: EscapeLab) -> str:
    return "env"


def _cmd_memory_split(lab: EscapeLab) -> str:
    # Five children each touch 1 GiB, report it, and hold it until the parent, having
    # heard from or buried every child, counts those still alive. Counting "held"
    # lines was wrong: the OOM killer may pick a child that already held its share,
    # and the last one then gets its 1 GiB although five never held at once.
    script = lab.write_script("memsplit", (
        "import mmap, os, select, time\n"
        "size = 1 << 30\n"
        "release_r, release_w = os.pipe()\n"
        "report_r, report_w = os.pipe()\n"
        "kids = []\n"
        "for n in range(5):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(release_w)\n"
        "        try:\n"
        "            m = mmap.mmap(-1, size)\n"
        "            for i in range(0, size, 4096):\n"
        "                m[i] = 1\n"
        "            os.write(report_w, bytes([n]))\n"
        "            os.read(release_r, 1)\n"
        "        except BaseException as e:\n"
        "            print('failed', n, e, flush=True)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "os.close(release_r)\n"
        "held, dead = set(), set()\n"
        "deadline = time.monotonic() + 80\n"
        "def reap():\n"
        "    for n, pid in enumerate(kids):\n"
        "        if n not in dead and os.waitpid(pid, os.WNOHANG)[0]:\n"
        "            dead.add(n)\n"
        "while len(held | dead) < 5 and time.monotonic() < deadline:\n"
        "    if select.select([report_r], [], [], 0.1)[0]:\n"
        "        held.update(os.read(report_r, 16))\n"
        "    reap()\n"
        "time.sleep(0.5)\n"
        "reap()\n"
        "print('held at once', len(held - dead), flush=True)\n"
        "os.close(release_w)\n"
        "for n, pid in enumerate(kids):\n"
        "    if n not in dead:\n"
        "        os.waitpid(pid, 0)\n"))
    return f"{PY} {script}"


def _judge_memory_split(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    found = re.search(r"held at once (\d+)", out)
    if found is None:
        if res.exit_code in (137, -signal.SIGKILL) and not getattr(res, "timed_out", False):
            # the whole run killed at its memory limit (not by the timeout)
            return True, f"the run was killed before five held 1 GiB (exit {res.exit_code})"
        return None, f"the probe did not report (exit {res.exit_code}): {_last_line(out)}"
    held = int(found.group(1))
    if held >= 5:
        return False, "five processes held 1 GiB each at once"
    return True, f"{held} of 5 processes held their 1 GiB at once"


def _cmd_memory_tmpfs(lab: EscapeLab) -> str:
    # 5 files of 1000 MiB (under a 1 GiB RLIMIT_FSIZE) in the first writable tmpfs.
    return ("for d in /dev/shm \"$TMPDIR\" /tmp; do "
            "[ -d \"$d\" ] && [ -w \"$d\" ] && [ \"$(stat -f -c %T \"$d\")\" = tmpfs ] "
            "&& { T=$d; break; }; done; "
            "[ -z \"$T\" ] && { echo 'no writable tmpfs'; exit 0; }; "
            "ok=0; for i in 1 2 3 4 5; do "
            "dd if=/dev/zero of=$T/.escape_fill$i bs=1M count=1000 2>/dev/null "
            "&& ok=$((ok+1)); done; echo tmpfs_written=$ok in $T; "
            "rm -f $T/.escape_fill*")


def _judge_memory_tmpfs(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "tmpfs_written=5" in out:
        return False, "5 x 1000 MiB were written to a tmpfs"
    return True, _last_line(out) or "the writes failed"


def _cmd_metadata(lab: EscapeLab) -> str:
    f = lab.meta_path
    return (f"chmod 700 {f}; touch -d 2001-01-01 {f}; chown 12345 {f}; "
            f"{PY} -c \"import os; os.setxattr('{f}', 'user.escape', b'1')\"; echo tried")


def _judge_metadata(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    after = _meta(lab.meta_path)
    if after != lab.meta_before:
        return False, f"the host file's metadata changed: {lab.meta_before} -> {after}"
    return True, "mode, owner, mtime and xattrs unchanged"


def _cmd_dev_shm(lab: EscapeLab) -> str:
    if not lab.shm_path:
        return "echo 'no host /dev/shm'"
    return f"cat {lab.shm_path}; echo appended >> {lab.shm_path}"


def _judge_dev_shm(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if not lab.shm_path:
        return None, "the host has no /dev/shm"
    with open(lab.shm_path) as fh:
        grown = "appended" in fh.read()
    if lab.marker in out or grown:
        return False, "the host /dev/shm file was " + ("changed" if grown else "read")
    return True, _last_line(out) or "not reached"


def _cmd_dev_pts(lab: EscapeLab) -> str:
    return f"echo pts-escape-{lab.marker[-6:]} > {lab.pty_name}; echo tried"


def _judge_dev_pts(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    try:
        got = os.read(lab.pty_master, 65536).decode(errors="replace")
    except (BlockingIOError, OSError):
        got = ""
    if f"pts-escape-{lab.marker[-6:]}" in got:
        return False, f"text reached the host terminal {lab.pty_name}"
    return True, _last_line(out) or "nothing reached the host terminal"


_IO_URING = r"""
import ctypes, mmap, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)
if fd < 0:
    print('io_uring=' + os.strerror(ctypes.get_errno())); sys.exit(0)
p = params.raw
sq_entries, cq_entries = struct.unpack_from('II', p, 0)
sq_off = struct.unpack_from('IIIIIII', p, 40)
cq_off = struct.unpack_from('IIIIII', p, 80)
sq = mmap.mmap(fd, sq_off[6] + sq_entries * 4, offset=0)
cq = mmap.mmap(fd, cq_off[5] + cq_entries * 16, offset=0x8000000)
sqes = mmap.mmap(fd, sq_entries * 64, offset=0x10000000)
sqe = bytearray(64)
struct.pack_into('BBHiQQII', sqe, 0, 45, 0, 0, socket.AF_INET, socket.SOCK_DGRAM, 0, 0, 0)
sqes[0:64] = bytes(sqe)
mask = struct.unpack_from('I', sq, sq_off[2])[0]
tail = struct.unpack_from('I', sq, sq_off[1])[0]
struct.pack_into('I', sq, sq_off[6] + 4 * (tail & mask), 0)
struct.pack_into('I', sq, sq_off[1], tail + 1)
r = libc.syscall(426, fd, 1, 1, 1, None, 0)
if r < 0:
    print('io_uring=enter ' + os.strerror(ctypes.get_errno())); sys.exit(0)
head = struct.unpack_from('I', cq, cq_off[0])[0]
cmask = struct.unpack_from('I', cq, cq_off[2])[0]
_, res, _ = struct.unpack_from('QiI', cq, cq_off[5] + 16 * (head & cmask))
if res < 0:
    print('io_uring=socket ' + os.strerror(-res)); sys.exit(0)
s = socket.socket(fileno=res)
try:
    s.sendto(sys.argv[1].encode(), ('127.0.0.1', int(sys.argv[2])))
    print('io_uring=sent')
except OSError as e:
    print('io_uring=send', e)
"""


def _cmd_io_uring(lab: EscapeLab) -> str:
    script = lab.write_script("io_uring", _IO_URING)
    return f"{PY} {script} uring-{lab.marker} {lab.udp_port}"


def _judge_io_uring(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    got = False
    while True:
        try:
            data = lab.udp.recv(65536)
        except (BlockingIOError, OSError):
            break
        got = got or f"uring-{lab.marker}".encode() in data
    if got:
        return False, "a datagram from an io_uring socket reached the host"
    if "io_uring=" not in out:
        return None, _last_line(out) or "the probe did not run"
    return True, _last_line(out)


def _cmd_unix(lab: EscapeLab) -> str:
    script = lab.write_script("unix", (
        "import socket, sys\n"
        "for address in sys.argv[1:]:\n"
        "    if address.startswith('@'):\n"
        "        address = '\\0' + address[1:]\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "        s.settimeout(3); s.connect(address); print('unix=connected'); s.close()\n"
        "    except OSError as e:\n"
        "        print('unix=refused', e)\n"))
    return f"{PY} {script} {lab.unix_path} @{lab.unix_name}"


def _judge_unix(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    reached = []
    for srv, what in zip(lab.unix_servers, ("pathname", "abstract")):
        while True:
            try:
                conn, _ = srv.accept()
            except (BlockingIOError, OSError):
                break
            conn.close()
            if what not in reached:
                reached.append(what)
    if reached:
        return False, f"the host {' and '.join(reached)} socket accepted a connection"
    if "unix=" not in out:
        return None, _last_line(out) or "the probe did not run"
    return True, _last_line(out)


def _cmd_guest_output(lab: EscapeLab) -> str:
    # Every writable file or directory a backend might read back after the command.
    return ("for d in /ctl /control /run/teragent /.teragent-ctl; do [ -d $d ] || continue; "
            "for f in out rc output result; do rm -f $d/$f 2>/dev/null; "
            f"ln -s {lab.key_path} $d/$f 2>/dev/null; done; "
            "ln -sf /dev/zero $d/out 2>/dev/null; done; echo guest-output-tried")


def _judge_guest_output(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if lab.marker in out:
        return False, "the host returned a host secret as the output"
    if res is not None and res.duration > 170:
        return False, f"the host spun {res.duration:.0f} s reading the output"
    return True, "the output channel is not guest-controlled"


def _cmd_setuid(lab: EscapeLab) -> str:
    return ("cp /bin/sh ./.escape_suid && chmod 6755 ./.escape_suid; "
            "mknod ./.escape_dev c 1 3 2>&1; ls -l ./.escape_suid")


def _judge_setuid(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    import stat as st

    bad = []
    suid = os.path.join(lab.workspace, ".escape_suid")
    dev = os.path.join(lab.workspace, ".escape_dev")
    if os.path.lexists(suid) and os.lstat(suid).st_mode & (st.S_ISUID | st.S_ISGID):
        bad.append(f"setuid file owned by uid {os.lstat(suid).st_uid}")
    if os.path.lexists(dev) and (st.S_ISCHR(os.lstat(dev).st_mode)
                                 or st.S_ISBLK(os.lstat(dev).st_mode)):
        bad.append("a device node")
    for path in (suid, dev):
        if os.path.lexists(path):
            os.unlink(path)
    if bad:
        return False, "left in the workspace: " + ", ".join(bad)
    return True, "no setuid file or device node left"


def _cmd_hardlink(lab: EscapeLab) -> str:
    return (f"ln {lab.link_target} ./.escape_link 2>&1 && echo linked; "
            "echo changed >> ./.escape_link")


def _judge_hardlink(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    with open(lab.link_target) as fh:
        changed = "changed" in fh.read()
    link = os.path.join(lab.workspace, ".escape_link")
    shared = (os.path.lexists(link)
              and os.lstat(link).st_ino == os.lstat(lab.link_target).st_ino)
    if os.path.lexists(link):
        os.unlink(link)
    if changed:
        return False, "the host file outside was changed through a hard link"
    if shared:
        return False, "a hard link to the host file was left in the workspace"
    return True, _last_line(out) or "no link"


def _cmd_userns(lab: EscapeLab) -> str:
    return (f"{_BOOT}; unshare -Ur sh -c 'echo nested_uid=$(id -u)' 2>&1 || "
            f"{PY} -c \"import ctypes, os; c = ctypes.CDLL(None, use_errno=True); "
            "r = c.unshare(0x10000000); "
            "print('nested_uid=new' if r == 0 else 'unshare: ' + "
            "os.strerror(ctypes.get_errno()))\" 2>&1")


def _judge_userns(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "nested_uid=" in out and _on_host_kernel(out):
        return False, "a user namespace was created on the host kernel"
    if "nested_uid=" in out:
        return True, "created, but on a guest kernel (not the host's)"
    return True, _last_line(out) or "refused"


_CAPGET = (
    "import ctypes, struct; c = ctypes.CDLL(None, use_errno=True); "
    "h = ctypes.create_string_buffer(struct.pack('Ii', 0x20080522, 0), 8); "
    "d = ctypes.create_string_buffer(24); r = c.capget(h, d); "
    "e0, p0, _, e1, p1, _ = struct.unpack('6I', d.raw); "
    "print('CapEff: %016x' % (e1 << 32 | e0)); print('CapPrm: %016x' % (p1 << 32 | p0))")


def _cmd_caps(lab: EscapeLab) -> str:
    return f"{_BOOT}; {PY} -c \"{_CAPGET}\" 2>&1"


def _judge_caps(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    import re

    held = [m.group(0) for m in re.finditer(r"Cap(Eff|Prm|Amb):\s*([0-9a-f]+)", out)
            if int(m.group(2), 16) != 0]
    if not re.search(r"CapEff:", out):
        return None, _last_line(out) or "no /proc/self/status"
    if held and _on_host_kernel(out):
        return False, "holds capabilities on the host kernel: " + ", ".join(held)
    if held:
        return True, "capabilities only on a guest kernel"
    return True, "no capabilities"


_PROBES = [
    _Probe("write_outside", _cmd_write, _judge_write),
    _Probe("read_shadow", _cmd_shadow, _judge_shadow),
    _Probe("read_ssh_key", _cmd_ssh, _judge_marker),
    _Probe("loopback_connect", _cmd_connect, _judge_connect),
    _Probe("fork_bomb", _cmd_fork, _judge_fork),
    _Probe("memory_bomb", _cmd_memory, _judge_memory, timeout=60),
    _Probe("cpu_timeout", _cmd_cpu, _judge_cpu, timeout=2, batchable=False),
    _Probe("background_child", _cmd_background, _judge_background),
    _Probe("env_inherit", _cmd_env, _judge_marker),
    _Probe("env_other_process", _cmd_environ, _judge_marker),
    _Probe("ptrace_parent", _cmd_ptrace, _judge_ptrace),
    _Probe("env_unlisted", _cmd_env_unlisted, _judge_marker),
    _Probe("memory_split", _cmd_memory_split, _judge_memory_split, timeout=90),
    _Probe("memory_tmpfs", _cmd_memory_tmpfs, _judge_memory_tmpfs, timeout=90),
    _Probe("metadata_outside", _cmd_metadata, _judge_metadata),
    _Probe("dev_shm", _cmd_dev_shm, _judge_dev_shm),
    _Probe("dev_pts", _cmd_dev_pts, _judge_dev_pts),
    _Probe("io_uring_socket", _cmd_io_uring, _judge_io_uring),
    _Probe("guest_output", _cmd_guest_output, _judge_guest_output),
    _Probe("setuid_left", _cmd_setuid, _judge_setuid),
    _Probe("hardlink_outside", _cmd_hardlink, _judge_hardlink),
    _Probe("nested_userns", _cmd_userns, _judge_userns),
    _Probe("capabilities", _cmd_caps, _judge_caps),
    _Probe("unix_socket", _cmd_unix, _judge_unix),
]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.replace("\x00", " ").splitlines() if ln.strip()]
    return lines[-1][:120] if lines else ""


def _claims(backend: Any) -> frozenset[str]:
    return frozenset(getattr(backend, "contains", frozenset()))


async def run_escape_suite(backend: Any, *, probes: Sequence[str] | None = None,
                           batch: bool = False, cpu_timeout: float = 2.0) -> EscapeReport:
    """Run the probes against ``backend`` (an instance with ``run`` and ``contains``).

    Args:
        backend: The backend instance.
        probes: Probe names (default: all).
        batch: Run every batchable probe in one command (slow-to-start backends such
            as a virtual machine); ``cpu_timeout`` always runs alone.
        cpu_timeout: The timeout given to the CPU spin.
    """
    from teragent.security.sandbox import execute_in_sandbox

    async def run(cmd: str, workdir: str, timeout: float) -> Any:
        # The documented path: the kernel's allow-listed environment and its clean-up
        # of the workspace apply to every backend.
        return await execute_in_sandbox(cmd, workdir, timeout=timeout, backend=backend)

    wanted = [p for p in _PROBES if probes is None or p.name in probes]
    name = getattr(backend, "name", type(backend).__name__)
    claims = _claims(backend)
    report = EscapeReport(name, environment=f"uid {os.geteuid()}", claims=claims)
    with EscapeLab() as lab:
        lab.cpu_timeout = cpu_timeout
        outcomes: dict[str, tuple[str, Any]] = {}
        missing: dict[str, str] = {}
        batched = [p for p in wanted if batch and p.batchable]
        if batched:
            script = "\n".join(
                f"echo '==probe {p.name}=='\n( {p.command(lab)} ) 2>&1\necho '==end {p.name}=='"
                for p in batched)
            res = await run(script, lab.workspace, 180.0)
            for p in batched:
                start = res.output.find(f"==probe {p.name}==")
                end = res.output.find(f"==end {p.name}==")
                if start >= 0 and end > start:
                    outcomes[p.name] = (res.output[start:end], res)
                else:
                    missing[p.name] = (f"no output section (batch exit {res.exit_code}, "
                                       f"timed_out={res.timed_out})")
        for p in wanted:
            if p.name in outcomes or p.name in missing:
                continue
            timeout = cpu_timeout if p.name == "cpu_timeout" else p.timeout
            started = time.monotonic()
            res = await run(p.command(lab), lab.workspace, timeout)
            if not res.duration:
                res.duration = time.monotonic() - started
            outcomes[p.name] = (res.output, res)
        for p in wanted:
            if p.name in missing:
                report.results.append(ProbeResult(p.name, p.name in claims, None,
                                                  missing[p.name]))
                continue
            out, res = outcomes[p.name]
            contained, detail = p.judge(lab, out, res)
            report.results.append(ProbeResult(p.name, p.name in claims, contained, detail))
    return report


def assert_claims(report: EscapeReport, *, tier: int | None = None) -> None:
    """Fail when a claimed probe was not contained (or could not be judged), or when
    the backend does not claim every probe its tier implies (:data:`TIER_REQUIRES`;
    ``tier`` defaults to :data:`TIERS` of the backend's name, 0 if unknown)."""
    if tier is None:
        tier = TIERS.get(report.backend, 0)
    claimed = set(report.claims) | {r.name for r in report.results if r.claimed}
    missing = sorted(TIER_REQUIRES[tier] - claimed)
    broken = [f"{name}: not claimed, but tier {tier} requires it" for name in missing]
    broken += [f"{r.name}: {r.detail}" for r in report.results
               if r.claimed and r.contained is not True]
    if broken:
        raise AssertionError(f"sandbox {report.backend!r} claims containment it does not "
                             f"provide: {'; '.join(broken)}")


def render_markdown(reports: Iterable[EscapeReport]) -> str:
    """One table per backend: probe, claimed, observed, detail."""
    parts = []
    for report in reports:
        parts.append(f"### `{report.backend}` ({report.environment})\n")
        parts.append("| probe | claimed | observed | detail |")
        parts.append("| --- | --- | --- | --- |")
        for r in report.results:
            observed = {True: "contained", False: "**escaped**", None: "not judged"}[r.contained]
            detail = r.detail.replace("|", "\\|")
            parts.append(f"| `{r.name}` ({PROBES[r.name]}) | {'yes' if r.claimed else 'no'} "
                         f"| {observed} | {detail} |")
        parts.append("")
    return "\n".join(parts)
