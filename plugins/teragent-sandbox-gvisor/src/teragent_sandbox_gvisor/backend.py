"""The ``gvisor`` sandbox backend: an OCI bundle run by ``runsc`` (user-space kernel)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any, Mapping

from teragent.errors import SandboxUnavailableError
from teragent.security.processes import OutputCallback, PosixControl, run_process
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, SandboxBackend, SandboxResult
from teragent_sandbox_container.backend import make_rootfs

__all__ = ["GVisorSandbox", "make_rootfs", "oci_spec"]


def oci_spec(cmd: str, workdir: str, env: Mapping[str, str], rootfs: str, *,
             memory: int | None, pids: int | None, open_files: int = 1024,
             uid: int = 0, gid: int = 0) -> dict[str, Any]:
    """An OCI runtime spec: host ``/usr`` read-only, the workspace read-write, run as
    ``uid:gid`` with no capabilities."""
    caps: list[str] = []
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": ["/bin/sh", "-c", cmd],
            "env": [f"{k}={v}" for k, v in sorted(env.items())],
            "cwd": workdir,
            "capabilities": {k: caps for k in ("bounding", "effective", "inheritable",
                                               "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": open_files, "soft": open_files}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": "sandbox",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]},
            {"destination": "/usr", "type": "bind", "source": "/usr",
             "options": ["rbind", "ro"]},
            {"destination": workdir, "type": "bind", "source": workdir,
             "options": ["rbind", "rw"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "resources": {},
        },
    }
    if memory:
        spec["linux"]["resources"]["memory"] = {"limit": memory}
    if pids:
        spec["linux"]["resources"]["pids"] = {"limit": pids}
    return spec


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, "gVisor runs on Linux only"
    binary = shutil.which("runsc")
    if binary is None:
        return False, "runsc not found: apt-get install runsc (Debian) or install gVisor"
    return True, f"{binary} (platform ptrace)"


class GVisorSandbox(SandboxBackend):
    """Level 1: the command runs on gVisor's user-space kernel (``runsc``).

    The bundle's root is a throw-away directory with the host's ``/usr`` bound
    read-only, a minimal ``/etc`` (no ``shadow``), a tmpfs ``/tmp`` and the workspace
    bound read-write at its own path. No network (``--network=none``), own PID/IPC/UTS
    namespaces, no capabilities. Every system call is served by gVisor's Sentry, not
    by the host kernel. When the command's shell exits, the sandbox (and every process
    in it) is destroyed.

    ``--platform=ptrace`` is the default: ``kvm`` hangs on PVM hosts such as this
    project's CI. Memory and pids limits are written to the spec; as root ``runsc``
    enforces them with a cgroup holding the whole sandbox (the Sentry included: a
    memory bomb kills the sandbox), and they are claimed; rootless it runs with
    ``--ignore-cgroups`` and claims none.

    Args:
        platform: ``ptrace`` (default) or ``systrap``/``kvm`` on hosts where they work.
        memory: Bytes of memory for the spec (default 1 GiB).
        pids: Process limit for the spec (default 512).
        kill_grace: Seconds between SIGTERM and SIGKILL of ``runsc``.
    """

    name = "gvisor"
    level = 1
    _isolation = frozenset({
        "write_outside", "read_shadow", "read_ssh_key", "loopback_connect", "cpu_timeout",
        "background_child", "env_inherit", "env_other_process", "ptrace_parent",
        "env_unlisted", "setuid_left", "capabilities", "guest_output", "metadata_outside",
        "dev_shm", "dev_pts", "io_uring_socket", "hardlink_outside", "nested_userns",
        "unix_socket"})

    @property
    def contains(self) -> frozenset[str]:  # type: ignore[override]
        """Isolation always; as root ``runsc`` puts the sandbox (Sentry included) in a
        cgroup with the spec's memory and pids limits, so the resource probes too."""
        claims = set(self._isolation)
        if os.geteuid() == 0:
            if self.pids:
                claims.add("fork_bomb")
            if self.memory:
                claims |= {"memory_bomb", "memory_split", "memory_tmpfs"}
        return frozenset(claims)

    def __init__(self, *, platform: str = "ptrace", memory: int | None = 1024 ** 3,
                 pids: int | None = 512, kill_grace: float = 2.0) -> None:
        self.platform = platform
        self.memory = memory
        self.pids = pids
        self.kill_grace = kill_grace

    def available(self) -> tuple[bool, str]:
        return _probe()

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        binary = shutil.which("runsc")
        if not ok or binary is None:
            raise SandboxUnavailableError(f"The gvisor sandbox is unavailable: {reason}")
        base = tempfile.mkdtemp(prefix="teragent-gvisor-")
        container = f"teragent-{uuid.uuid4().hex[:12]}"
        try:
            bundle = os.path.join(base, "bundle")
            state = os.path.join(base, "state")
            os.makedirs(bundle)
            os.makedirs(state)
            rootfs = make_rootfs(os.path.join(bundle, "rootfs"))
            run_env = {**(env or {}), "HOME": "/tmp", "TMPDIR": "/tmp"}
            # The command runs as the workspace's owner, without capabilities, so it
            # can write the workspace and nothing that owner could not.
            owner = os.stat(workdir)
            spec = oci_spec(cmd, workdir, run_env, rootfs, memory=self.memory, pids=self.pids,
                            uid=owner.st_uid, gid=owner.st_gid)
            with open(os.path.join(bundle, "config.json"), "w") as fh:
                json.dump(spec, fh)
            argv = [binary, "--root", state, "--network=none", f"--platform={self.platform}"]
            if os.geteuid() != 0:
                argv.append("--ignore-cgroups")  # rootless runsc cannot configure them
            if os.geteuid() != 0:
                argv.append("--rootless")
            argv += ["run", "--bundle", bundle, container]
            started = time.monotonic()
            outcome = await run_process(
                argv, cwd=base, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                timeout=timeout, max_output=max_output, on_output=on_output,
                kill_grace=self.kill_grace, control=PosixControl())
            duration = time.monotonic() - started
        finally:
            await _delete(binary, base, container)
            shutil.rmtree(base, ignore_errors=True)
        enforced = {"kernel": "gVisor Sentry", "platform": self.platform, "network": "none",
                    "rootfs": "host /usr read-only + minimal /etc"}
        return SandboxResult.from_outcome(outcome, self.name, duration=duration,
                                          enforced=enforced)


async def _delete(binary: str, base: str, container: str) -> None:
    """Force-delete the container (after a kill the sandbox may still be registered)."""
    state = os.path.join(base, "state")
    if not os.path.isdir(state) or not os.listdir(state):
        return
    try:
        await run_process([binary, "--root", state, "delete", "--force", container],
                          cwd=base, env={"PATH": "/usr/bin:/bin"}, timeout=20)
    except OSError:
        pass
