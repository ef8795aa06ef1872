"""A cgroup per sandboxed run: memory (page cache and tmpfs included), pids and CPU
limits for the whole run, and one kill for everything in it.

:func:`run_cgroup` creates the group (as a child of the agent's own cgroup, so any
limit above still applies) where this kernel lets us:

* **cgroup v2** (``/sys/fs/cgroup`` or ``/sys/fs/cgroup/unified`` with the ``memory``
  and ``pids`` controllers available and enabled for children): ``memory.max``
  (``memory.swap.max`` 0), ``pids.max``, ``cpu.max``; killed with ``cgroup.kill``.
* **cgroup v1** (separate ``memory``, ``pids`` and ``cpu`` hierarchies, as on this
  project's machines): ``memory.limit_in_bytes`` (and ``memsw`` where present),
  ``pids.max``, ``cpu.cfs_quota_us``; killed by SIGKILL of every listed process until
  none is left (the pids limit bounds a fork race).

The child joins the group in its ``preexec_fn`` (:meth:`RunCgroup.join`), before it
drops privileges. The memory controller charges tmpfs and page-cache pages to the
group that touched them, so five processes of 1 GiB each, or 5 GiB written to a
tmpfs, hit the one limit.

**Fallback** (not root, or no usable controller, e.g. an unprivileged user without
delegation): ``None`` is returned and the backends keep their rlimits (per process:
``RLIMIT_AS``, ``RLIMIT_FSIZE``, ``RLIMIT_NPROC`` of the sandbox uid, ``RLIMIT_CPU``)
and process-group kill. ``enforced["cgroup"]`` says which applied.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunCgroup", "run_cgroup", "cgroup_support"]

ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _own_paths() -> dict[str, str]:
    """Hierarchy -> our cgroup path within it (``"2"`` for the unified one)."""
    out: dict[str, str] = {}
    for line in _read("/proc/self/cgroup").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            out["2"] = path
        for c in controllers.split(","):
            if c:
                out[c] = path
    return out


def _v2_root() -> str | None:
    for base in (ROOT, os.path.join(ROOT, "unified")):
        if os.path.exists(os.path.join(base, "cgroup.controllers")):
            return base
    return None


def cgroup_support() -> tuple[str, str]:
    """``("v2" | "v1" | "none", why)`` for this process (root needed for v1)."""
    if not os.path.isdir(ROOT) or not hasattr(os, "geteuid"):
        return "none", "no /sys/fs/cgroup"
    own = _own_paths()
    v2 = _v2_root()
    if v2 is not None and "2" in own:
        parent = os.path.join(v2, own["2"].lstrip("/"))
        available = set(_read(os.path.join(parent, "cgroup.controllers")).split())
        if {"memory", "pids"} <= available and os.access(parent, os.W_OK):
            return "v2", f"cgroup v2 at {parent}"
    if os.geteuid() == 0 and all(os.path.isdir(os.path.join(ROOT, c)) and c in own
                                 for c in ("memory", "pids")):
        return "v1", "cgroup v1 memory, pids" + (
            ", cpu" if os.path.isdir(os.path.join(ROOT, "cpu")) and "cpu" in own else "")
    return "none", ("no cgroup this user may create with the memory and pids controllers "
                    "(rlimits apply instead)")


@dataclass
class RunCgroup:
    """One run's cgroup (directories in one or more hierarchies)."""

    version: str
    dirs: list[str] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)

    def join(self) -> None:
        """Move the calling process into the group (in the child's ``preexec_fn``)."""
        pid = str(os.getpid())
        for d in self.dirs:
            with open(os.path.join(d, "cgroup.procs"), "w") as fh:
                fh.write(pid)

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            found.update(int(p) for p in _read(os.path.join(d, "cgroup.procs")).split())
        return sorted(found)

    def oom_kills(self) -> int:
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                for line in _read(os.path.join(d, name)).splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit():
                        return int(value)
        return 0

    def kill(self) -> int:
        """SIGKILL everything in the group until it is empty; how many were killed."""
        killed = 0
        if self.version == "v2" and self.dirs:
            try:
                with open(os.path.join(self.dirs[0], "cgroup.kill"), "w") as fh:
                    fh.write("1")
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        return killed

    def close(self) -> dict[str, Any]:
        """Kill what is left, remove the directories; what was enforced."""
        leftovers = self.kill()
        info: dict[str, Any] = {"cgroup": self.version, **self.limits}
        ooms = self.oom_kills()
        if ooms:
            info["oom_kills"] = ooms
        if leftovers:
            info["cgroup_killed"] = leftovers
        for d in self.dirs:
            for _ in range(100):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        return info


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as fh:
            fh.write(value)
        return True
    except OSError:
        return False


def run_cgroup(*, memory: int | None, pids: int | None,
               cpus: float | None = None) -> RunCgroup | None:
    """A fresh cgroup with these limits, or ``None`` (fallback: rlimits only)."""
    version, _why = cgroup_support()
    if version == "none":
        return None
    own = _own_paths()
    name = f"teragent-run-{uuid.uuid4().hex[:12]}"
    group = RunCgroup(version)
    try:
        if version == "v2":
            base = _v2_root()
            assert base is not None
            parent = os.path.join(base, own["2"].lstrip("/"))
            enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
            for c in ("memory", "pids", "cpu"):
                if c not in enabled:
                    _write(os.path.join(parent, "cgroup.subtree_control"), f"+{c}")
            d = os.path.join(parent, name)
            os.mkdir(d)
            group.dirs.append(d)
            if memory:
                _write(os.path.join(d, "memory.max"), str(memory))
                _write(os.path.join(d, "memory.swap.max"), "0")
            if pids:
                _write(os.path.join(d, "pids.max"), str(pids))
            if cpus:
                _write(os.path.join(d, "cpu.max"), f"{int(cpus * 100000)} 100000")
        else:
            wanted = [("memory", memory), ("pids", pids), ("cpu", cpus)]
            for controller, value in wanted:
                if value is None or controller not in own:
                    continue
                hierarchy = os.path.join(ROOT, controller)
                if not os.path.isdir(hierarchy):
                    continue
                d = os.path.join(hierarchy, own[controller].lstrip("/"), name)
                os.mkdir(d)
                group.dirs.append(d)
                if controller == "memory":
                    _write(os.path.join(d, "memory.limit_in_bytes"), str(memory))
                    _write(os.path.join(d, "memory.memsw.limit_in_bytes"), str(memory))
                elif controller == "pids":
                    _write(os.path.join(d, "pids.max"), str(pids))
                else:
                    assert cpus is not None
                    _write(os.path.join(d, "cpu.cfs_period_us"), "100000")
                    _write(os.path.join(d, "cpu.cfs_quota_us"), str(int(cpus * 100000)))
    except OSError:
        group.close()
        return None
    if not group.dirs:
        return None
    group.limits = {k: v for k, v in (("memory", memory), ("pids", pids), ("cpus", cpus))
                    if v is not None}
    return group
