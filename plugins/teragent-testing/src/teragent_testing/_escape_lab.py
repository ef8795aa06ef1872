"""The escape suite's scene (:class:`EscapeLab`), what its probes read of the host, and
the verdicts their judges give.

Internal to :mod:`teragent_testing.escape`, which re-exports :class:`EscapeLab`.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

PY = "/usr/bin/python3"
FAKE_KEY_NAME = "TERAGENT_ESCAPE_TEST_API_KEY"


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
        return _accept_all(self.server)

    def write_script(self, name: str, source: str) -> str:
        path = os.path.join(self.workspace, f".escape_{name}.py")
        with open(path, "w") as fh:
            fh.write(source)
        os.chmod(path, 0o644)
        return path

    def python(self, name: str, source: str, *args: object) -> str:
        """The command that runs ``source`` (written to the workspace) with ``args``."""
        return " ".join([PY, self.write_script(name, source), *map(str, args)])


def _accept_all(server: socket.socket) -> bool:
    """Accept and close every pending connection of a non-blocking ``server``; whether
    there was any."""
    got = False
    while True:
        try:
            conn, _ = server.accept()
        except OSError:  # BlockingIOError: nothing pending
            return got
        got = True
        conn.close()


def _meta(path: str) -> tuple[Any, ...]:
    st = os.lstat(path)
    try:
        xattrs = tuple(sorted(os.listxattr(path)))
    except OSError:
        xattrs = ()
    return (st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime), xattrs)


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


def _agent_start_time() -> str:
    """Field 22 of /proc/self/stat: the agent's start time, which identifies *this*
    process, not just its pid number (another pid namespace or a VM has its own)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


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


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.replace("\x00", " ").splitlines() if ln.strip()]
    return lines[-1][:120] if lines else ""


def _verdict(escaped: bool, detail: str, out: str, otherwise: str) -> tuple[bool | None, str]:
    """Escaped (``detail`` says how) or contained: the output's last line says how it
    failed, ``otherwise`` where it printed nothing."""
    if escaped:
        return False, detail
    return True, _last_line(out) or otherwise


def _ran(out: str, tag: str) -> tuple[bool | None, str]:
    """Contained when the probe reported (``tag`` in its output) and no judge above saw
    an escape; not judged when it never reported (it did not run)."""
    if tag not in out:
        return None, _last_line(out) or "the probe did not run"
    return True, _last_line(out)


Judge = Callable[[EscapeLab, str, Any], "tuple[bool | None, str]"]


@dataclass
class _Probe:
    name: str
    command: Callable[[EscapeLab], str]
    judge: Judge
    timeout: float = 30.0
    batchable: bool = True
