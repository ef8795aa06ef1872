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
=================== ==========================================================

Usage in a backend's tests::

    from teragent_testing.escape import run_escape_suite, assert_claims

    report = asyncio.run(run_escape_suite(MyBackend()))
    assert_claims(report)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

__all__ = ["PROBES", "ProbeResult", "EscapeReport", "EscapeLab", "run_escape_suite",
           "assert_claims", "render_markdown"]

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
        for name, value in ((FAKE_KEY_NAME, self.marker), ("HOME", self.home)):
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
    from teragent.security.processes import clean_environment

    wanted = [p for p in _PROBES if probes is None or p.name in probes]
    name = getattr(backend, "name", type(backend).__name__)
    claims = _claims(backend)
    report = EscapeReport(name, environment=f"uid {os.geteuid()}")
    with EscapeLab() as lab:
        lab.cpu_timeout = cpu_timeout
        env = clean_environment()
        outcomes: dict[str, tuple[str, Any]] = {}
        missing: dict[str, str] = {}
        batched = [p for p in wanted if batch and p.batchable]
        if batched:
            script = "\n".join(
                f"echo '==probe {p.name}=='\n( {p.command(lab)} ) 2>&1\necho '==end {p.name}=='"
                for p in batched)
            res = await backend.run(script, lab.workspace, 180.0, env)
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
            res = await backend.run(p.command(lab), lab.workspace, timeout, env)
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


def assert_claims(report: EscapeReport) -> None:
    """Fail when a claimed probe was not contained (or could not be judged)."""
    broken = [f"{r.name}: {r.detail}" for r in report.results
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
