"""``ProcessSandbox``: level 0, a host process in its own session with rlimits.

The backend that works everywhere (POSIX ``/bin/sh``, Windows ``cmd.exe``); the bash
tool of teragent-tools runs on it. The process-group machinery it drives is the
kernel's (:mod:`teragent.security.processes`), shared with every other backend.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Mapping

from teragent.security.processes import (
    OutputCallback,
    PosixControl,
    Spawner,
    WindowsControl,
    run_process,
)
from teragent.security.confine import confinement
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, Limits, SandboxBackend, SandboxResult

__all__ = ["ProcessSandbox"]


class ProcessSandbox(SandboxBackend):
    """Level 0: ``/bin/sh -c CMD`` as a host process, in its own session, with rlimits.

    Contains: runaway CPU and wall time (RLIMIT_CPU + timeout with process-group kill),
    memory (RLIMIT_AS), huge files (RLIMIT_FSIZE), fd exhaustion (RLIMIT_NOFILE),
    fork bombs for non-root users (RLIMIT_NPROC), API keys inherited through the
    environment (scrubbed), output floods (cap). Does **not** contain filesystem or
    network access, ``setsid`` daemons, or reading other processes of the same user:
    use ``landlock`` or a level-1 backend for that.

    Args:
        limits: The rlimits (default :class:`Limits`).
        kill_grace: Seconds between SIGTERM and SIGKILL.
        drain_grace: Seconds to wait, after the shell exits, for background processes
            to release the output.
        platform: ``"win32"`` or a POSIX name (default: this one); tests use it to run
            the Windows code path with a fake ``spawner``.
        spawner: Replaces the process starter (tests).
    """

    name = "process"
    level = 0

    def __init__(self, limits: Limits | None = None, *, kill_grace: float = 2.0,
                 drain_grace: float = 0.5, platform: str | None = None,
                 spawner: Spawner | None = None) -> None:
        self.limits = limits or Limits()
        self.kill_grace = kill_grace
        self.drain_grace = drain_grace
        self.platform = platform or sys.platform
        self.spawner = spawner

    def available(self) -> tuple[bool, str]:
        if self.platform == "win32" or os.path.exists("/bin/sh"):
            return True, "always available"
        return False, "/bin/sh does not exist"

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        windows = self.platform == "win32"
        control: PosixControl | WindowsControl = (
            WindowsControl(self.spawner) if windows else PosixControl())
        extra: dict[str, Any] = {}
        enforced: dict[str, Any] = {"process_group": True}
        group = None
        plan = None
        if not windows:
            plan = confinement(workdir) if sys.platform.startswith("linux") else None
            group = self.limits.cgroup() if plan is not None else None
            extra["preexec_fn"] = self.limits.preexec(timeout, dropped=bool(
                plan is not None and plan.uid is not None), cgroup=group)
            enforced["rlimits"] = dict(self.limits.pairs(timeout))
            if plan is not None:
                extra["preexec_fn"] = plan.preexec(then=extra["preexec_fn"])
                extra["pass_fds"] = plan.pass_fds
                enforced.update(plan.enforced)
        argv = control.shell_argv(cmd)
        if not windows and plan is not None:
            argv = plan.wrap(argv)  # a root agent: the least-privilege helper execs it
        started = time.monotonic()
        try:
            outcome = await run_process(
                argv, cwd=workdir, env=env, timeout=timeout,
                max_output=max_output, on_output=on_output, kill_grace=self.kill_grace,
                drain_grace=self.drain_grace, control=control, spawner=self.spawner, **extra)
        finally:
            # Everything the run started, setsid daemons included, dies with its cgroup.
            if group is not None:
                enforced.update(group.close())
        return SandboxResult.from_outcome(outcome, self.name,
                                          duration=time.monotonic() - started,
                                          enforced=enforced)

    @property
    def contains(self) -> frozenset[str]:  # type: ignore[override]
        """Which escape-suite probes this backend contains (teragent_testing.escape):
        the run's cgroup adds memory split across processes or in a tmpfs, and
        background children (killed with the group)."""
        claims = {"cpu_timeout", "memory_bomb", "env_inherit", "env_unlisted",
                  "setuid_left", "capabilities", "guest_output"}
        if self.platform == "win32":
            return frozenset({"cpu_timeout", "env_inherit", "env_unlisted"})
        if sys.platform.startswith("linux") or os.geteuid() != 0:
            claims.add("fork_bomb")  # RLIMIT_NPROC of a non-root (or dropped) uid
        from teragent.security.cgroups import cgroup_support

        if sys.platform.startswith("linux") and cgroup_support()[0] != "none":
            if self.limits.memory is not None:
                claims |= {"memory_split", "memory_tmpfs"}
            claims.add("background_child")
        return frozenset(claims)
