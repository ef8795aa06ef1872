"""``Limits``: the resource limits a sandboxed command runs under (rlimits set in the
child before ``exec``, and the run's cgroup). Split from :mod:`teragent.security.sandbox`,
which re-exports it (``from teragent.security.sandbox import Limits`` keeps working)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Limits"]


@dataclass
class Limits:
    """Resource limits applied with ``setrlimit`` in the child before ``exec``.

    ``None`` leaves a limit alone. Soft and hard limits are both set to the value
    (lowered only: without ``CAP_SYS_RESOURCE`` a hard limit cannot be raised, so a
    value above the current hard limit is clamped to it). ``RLIMIT_NPROC`` counts every
    process of the real uid and is not enforced for root (the kernel exempts
    ``CAP_SYS_ADMIN``/``CAP_SYS_RESOURCE``), so it is only set for non-root users.

    Attributes:
        cpu_seconds: RLIMIT_CPU; ``None`` derives it from the timeout (timeout + 1 s).
        address_space: RLIMIT_AS in bytes (default 4 GiB).
        file_size: RLIMIT_FSIZE in bytes (default 1 GiB).
        open_files: RLIMIT_NOFILE (default 1024).
        processes: RLIMIT_NPROC for non-root users (default 512).
        core: RLIMIT_CORE (default 0: no core dumps).
        memory: The run's cgroup memory limit in bytes, page cache and tmpfs included,
            for all its processes together (default 4 GiB; :mod:`teragent.security.
            cgroups`; where no cgroup can be made the rlimits above are the fallback).
        pids: The run's cgroup process limit (default 512).
        cpus: The run's cgroup CPU quota in cores (default ``None``: no quota).
    """

    cpu_seconds: int | None = None
    address_space: int | None = 4 * 1024 ** 3
    file_size: int | None = 1024 ** 3
    open_files: int | None = 1024
    processes: int | None = 512
    core: int | None = 0
    memory: int | None = 4 * 1024 ** 3
    pids: int | None = 512
    cpus: float | None = None

    def cgroup(self) -> Any:
        """A fresh :class:`~teragent.security.cgroups.RunCgroup` with the run-wide
        limits, or ``None`` where this kernel/user cannot have one (rlimits only)."""
        if self.memory is None and self.pids is None and self.cpus is None:
            return None
        from teragent.security.cgroups import run_cgroup

        return run_cgroup(memory=self.memory, pids=self.pids, cpus=self.cpus)

    def pairs(self, timeout: float) -> list[tuple[str, int]]:
        """``(RLIMIT_NAME, value)`` pairs to apply for a command with ``timeout``."""
        cpu = self.cpu_seconds
        if cpu is None:
            cpu = int(math.ceil(timeout)) + 1
        wanted = [("RLIMIT_CPU", cpu), ("RLIMIT_AS", self.address_space),
                  ("RLIMIT_FSIZE", self.file_size), ("RLIMIT_NOFILE", self.open_files),
                  ("RLIMIT_CORE", self.core)]
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            wanted.append(("RLIMIT_NPROC", self.processes))
        return [(name, value) for name, value in wanted if value is not None]

    def preexec(self, timeout: float, *, dropped: bool = False, cgroup: Any = None) -> Any:
        """A ``preexec_fn`` that applies the limits (POSIX only). ``dropped``: the
        command will run as an unprivileged uid, so ``RLIMIT_NPROC`` applies too.
        ``cgroup``: a :class:`~teragent.security.cgroups.RunCgroup` the child joins."""
        import resource

        named = self.pairs(timeout)
        if dropped and self.processes is not None and all(n != "RLIMIT_NPROC"
                                                          for n, _ in named):
            named.append(("RLIMIT_NPROC", self.processes))
        pairs = [(getattr(resource, name), value) for name, value in named
                 if hasattr(resource, name)]

        def apply() -> None:
            if cgroup is not None:
                cgroup.join()
            for which, value in pairs:
                _soft, hard = resource.getrlimit(which)
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(which, (value, value))

        return apply
