"""The ``landlock`` sandbox backend: Landlock + seccomp + rlimits, no root needed."""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from typing import Any, Mapping, Sequence

from teragent.security.confine import _cap_last, confinement, drops_root
from teragent.security.processes import OutputCallback, PosixControl, run_process
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, Limits, SandboxBackend, SandboxResult

from teragent_sandbox_landlock import launcher

__all__ = ["LandlockSandbox", "SYSTEM_READ_PATHS", "ETC_DENIED"]

#: Directories the command may read and execute below.
SYSTEM_READ_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                     "/opt", "/sys", "/run/systemd/resolve")
#: Entries of /etc that stay unreadable (Landlock only allow-lists, so /etc is granted
#: entry by entry, minus these).
ETC_DENIED = frozenset({"shadow", "shadow-", "gshadow", "gshadow-", "sudoers",
                        "sudoers.d", "ssh", "ssl/private", "security", "libvirt",
                        "machine-id", "credstore", "credstore.encrypted", "wireguard"})
#: Devices the command may open. Not ``/dev/pts``/``/dev/ptmx`` (host terminals) and not
#: ``/dev/shm`` unless the run has a private one (a root agent: its own tmpfs).
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
           "/dev/tty", "/dev/fd")


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, "Landlock is Linux-only"
    if platform.machine() not in launcher.SYSCALLS:
        return False, f"no seccomp syscall table for {platform.machine()}"
    abi = launcher.landlock_abi()
    if abi < 1:
        return False, ("Landlock is not enabled in this kernel (needs Linux >= 5.13 with "
                       "CONFIG_SECURITY_LANDLOCK and landlock in the lsm= list)")
    if abi < 4:
        return True, f"Landlock ABI {abi} (no TCP rules: network is cut by seccomp only)"
    return True, f"Landlock ABI {abi}"


class LandlockSandbox(SandboxBackend):
    """Level 0 on Linux: a host process confined by Landlock and seccomp.

    Writes are allowed only below the workspace and a private temporary directory
    (``TMPDIR``, removed afterwards); reads only below the system directories, the
    interpreter's prefix, ``/etc`` minus :data:`ETC_DENIED`, the workspace and the
    private tmp, so ``~/.ssh``, ``~/.aws``, ``.env`` files elsewhere and ``/etc/shadow``
    are unreadable, even for root. TCP is denied (Landlock ABI >= 4, plus seccomp
    refusing AF_INET/AF_INET6/AF_PACKET sockets) unless ``tcp_ports`` allow-lists
    connect ports. Landlock (ABI >= 6) scopes signals and abstract unix sockets, and
    Landlock's ptrace rule stops the command from tracing or reading ``/proc/PID/
    environ`` of any process outside the sandbox. A subreaper launcher kills every
    process the command left behind, ``setsid`` daemons included. rlimits as for the
    ``process`` backend.

    Args:
        limits: rlimits (default :class:`~teragent.security.sandbox.Limits`).
        read_paths: Extra directories readable (and executable) by the command.
        full_proc: Also allow ``/proc/<pid>`` and ``/proc/self``. Off by default: on
            this kernel Landlock's ptrace rule does not stop reading another
            same-user process's ``/proc/PID/environ`` (measured), so per-process
            ``/proc`` entries are not granted; system-wide ones (``cpuinfo``,
            ``meminfo``, ``sys``...) are. With it on, ``ps`` and ``/dev/fd`` work but
            ``env_other_process`` is no longer contained.
        write_paths: Extra directories writable by the command.
        tcp_ports: TCP ports the command may connect to (default: none).
        unix_sockets: Allow ``socket(AF_UNIX)`` (default: refused, so host daemons'
            pathname and abstract sockets are out of reach; ``socketpair`` works).
        kill_grace: Seconds between SIGTERM and SIGKILL.
    """

    name = "landlock"
    level = 0

    def __init__(self, limits: Limits | None = None, *, read_paths: Sequence[str] = (),
                 write_paths: Sequence[str] = (), tcp_ports: Sequence[int] = (),
                 full_proc: bool = False, unix_sockets: bool = False,
                 kill_grace: float = 2.0) -> None:
        self.unix_sockets = unix_sockets
        self.full_proc = full_proc
        self.limits = limits or Limits()
        self.read_paths = list(read_paths)
        self.write_paths = list(write_paths)
        self.tcp_ports = [int(p) for p in tcp_ports]
        self.kill_grace = kill_grace

    def available(self) -> tuple[bool, str]:
        return _probe()

    @property
    def contains(self) -> frozenset[str]:
        claims = {"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                  "cpu_timeout", "memory_bomb", "background_child", "env_inherit",
                  "ptrace_parent", "env_unlisted", "setuid_left", "capabilities",
                  "guest_output", "dev_shm", "dev_pts",
                  "io_uring_socket", "hardlink_outside", "nested_userns"}
        if not self.full_proc:
            claims.add("env_other_process")
        if not self.unix_sockets:
            claims.add("unix_socket")
        if drops_root():
            # An unprivileged uid: RLIMIT_NPROC applies, and root-owned host files'
            # metadata (which Landlock does not cover) is out of reach.
            claims |= {"fork_bomb", "metadata_outside"}
        from teragent.security.cgroups import cgroup_support

        if self.limits.memory is not None and cgroup_support()[0] != "none":
            claims |= {"memory_split", "memory_tmpfs"}
        return frozenset(claims)

    def policy(self, workdir: str, tmpdir: str) -> dict[str, Any]:
        """The rules handed to the launcher."""
        read = [p for p in SYSTEM_READ_PATHS]
        read += sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                                                      sys.exec_prefix)})
        if self.full_proc:
            read.append("/proc")
        elif os.path.isdir("/proc"):
            read += [os.path.join("/proc", e) for e in sorted(os.listdir("/proc"))
                     if not e.isdigit() and e not in ("self", "thread-self")]
        if os.path.isdir("/etc"):
            for entry in sorted(os.listdir("/etc")):
                if entry not in ETC_DENIED:
                    read.append(os.path.join("/etc", entry))
            read.append("/etc/ssl/certs")
        read += [os.path.realpath(p) for p in self.read_paths]
        write = [workdir, tmpdir] + [os.path.realpath(p) for p in self.write_paths]
        return {"read": read, "write": write, "dev": list(DEVICES),
                "tcp_connect": self.tcp_ports, "unix_sockets": self.unix_sockets}

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        if not ok:
            from teragent.errors import SandboxUnavailableError

            raise SandboxUnavailableError(f"The landlock sandbox is unavailable: {reason}")
        tmpdir = tempfile.mkdtemp(prefix="teragent-landlock-")
        read_fd, write_fd = os.pipe()
        group = self.limits.cgroup()
        cgroup_info: dict[str, Any] = {}
        try:
            plan = confinement(workdir, drop_uid=False)
            policy = self.policy(workdir, tmpdir)
            policy["report_fd"] = write_fd
            if plan.private_shm:
                policy["write"].append("/dev/shm")
            if plan.uid is not None:
                os.chown(tmpdir, plan.uid, plan.uid)
            if os.geteuid() == 0:
                policy["drop"] = {"uid": plan.uid, "gid": plan.gid, "cap_last": _cap_last(),
                                  "nproc": self.limits.processes}
            run_env = dict(env or {})
            run_env.update({"TMPDIR": tmpdir, "TMP": tmpdir, "TEMP": tmpdir})
            if plan.uid is not None:  # the agent's HOME is not the sandbox uid's
                run_env["HOME"] = tmpdir
            argv = plan.wrap([sys.executable, "-I", "-S", launcher.__file__,
                              json.dumps(policy), "--", "/bin/sh", "-c", cmd])
            started = time.monotonic()
            outcome = await run_process(
                argv, cwd=workdir, env=run_env, timeout=timeout, max_output=max_output,
                on_output=on_output, kill_grace=self.kill_grace, control=PosixControl(),
                preexec_fn=plan.preexec(then=self.limits.preexec(timeout, cgroup=group)),
                pass_fds=(write_fd, *plan.pass_fds))
            os.close(write_fd)
            write_fd = -1
            report = _read_all(read_fd)
        finally:
            if group is not None:
                cgroup_info = group.close()
            if write_fd >= 0:
                os.close(write_fd)
            os.close(read_fd)
            shutil.rmtree(tmpdir, ignore_errors=True)
        enforced: dict[str, Any] = json.loads(report) if report else {"landlock": "not applied"}
        enforced.pop("read", None)
        enforced.update({k: v for k, v in plan.enforced.items() if k not in enforced})
        enforced["rlimits"] = dict(self.limits.pairs(timeout))
        enforced["write"] = [workdir, "$TMPDIR"] + self.write_paths
        enforced.update(cgroup_info or {"cgroup": "none (rlimits only)"})
        return SandboxResult.from_outcome(outcome, self.name,
                                          duration=time.monotonic() - started,
                                          enforced=enforced)


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)
