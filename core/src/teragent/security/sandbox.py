"""Run shell commands in a sandbox backend chosen by level or by name.

The documented entry point::

    from teragent.security import execute_in_sandbox

    exit_code, output = await execute_in_sandbox(
        cmd="python script.py", workdir="/project", level=0, timeout=60)

returns a :class:`SandboxResult`, which unpacks as ``(exit_code, output)`` and also
carries the backend that actually ran, whether the command timed out and whether the
output was cut.

Backends are plugins. Each registers through the ``teragent_register_sandboxes`` hook::

    register("landlock", "teragent_sandbox_landlock.backend:LandlockSandbox",
             level=0, priority=50)

and implements ``available() -> (bool, reason)`` and
``async run(cmd, workdir, timeout, env) -> SandboxResult`` (optionally also accepting
the keyword arguments ``max_output`` and ``on_output``). Levels:

====== ===================================================================
level  meaning
====== ===================================================================
0      a host process: ``process`` (kernel, always there), ``landlock``
1      namespaces / a container: ``bwrap``, ``gvisor``, ``container``
2      a virtual machine: ``microvm``
====== ===================================================================

Selection: ``backend="name"`` pins one backend; otherwise the available backend with
the highest ``priority`` at ``level`` wins (on Linux with Landlock that is
``landlock`` at level 0). If nothing fits, :class:`~teragent.errors.
SandboxUnavailableError` is raised, unless ``fallback`` names other backends or levels
to try in order. Nothing falls back silently: the result names the backend that ran.

The ``process`` backend lives in the kernel (registered by the built-in plugin through
the same hook) because it is the only one that works everywhere, so the documented
call works with no plugin installed; its process-group machinery
(:mod:`teragent.security.processes`) is what every other backend uses to start its
own host process.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from teragent.errors import (
    MissingPluginError,
    SandboxUnavailableError,
    UnknownComponentError,
    UserError,
)
from teragent.security.processes import (
    OutputCallback,
    PosixControl,
    ProcessOutcome,
    Spawner,
    WindowsControl,
    clean_environment,
    run_process,
)

__all__ = [
    "SandboxResult",
    "SandboxInfo",
    "Limits",
    "ProcessSandbox",
    "execute_in_sandbox",
    "list_sandboxes",
    "get_sandbox",
    "select_sandbox",
    "DEFAULT_MAX_OUTPUT",
]

logger = logging.getLogger("teragent.security.sandbox")

DEFAULT_MAX_OUTPUT = 30_000
MAX_TIMEOUT = 3600.0

#: First-party backends that live in separately installed plugins.
KNOWN_SANDBOX_DISTRIBUTIONS = {
    "landlock": "teragent-sandbox-landlock",
    "bwrap": "teragent-sandbox-bwrap",
    "gvisor": "teragent-sandbox-gvisor",
    "container": "teragent-sandbox-container",
    "microvm": "teragent-sandbox-microvm",
    "firecracker": "teragent-sandbox-microvm",
}


@dataclass
class SandboxResult:
    """The outcome of one sandboxed command.

    Unpacks as ``exit_code, output = result`` (the documented two-tuple).

    Attributes:
        exit_code: The command's exit status; ``-1`` when it was killed on timeout
            (a signal death is ``128 + signal`` where the backend reports it that way,
            or negative ``-signal`` for the ``process`` backend).
        output: Combined stdout and stderr, cut in the middle past ``max_output``.
        backend: The name of the backend that actually ran the command.
        timed_out: The wall-clock timeout fired and everything was killed.
        truncated: Output was cut.
        duration: Wall-clock seconds.
        enforced: What the backend actually enforced (for logs and audits).
    """

    exit_code: int
    output: str
    backend: str = ""
    timed_out: bool = False
    truncated: bool = False
    duration: float = 0.0
    enforced: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        yield self.exit_code
        yield self.output

    @classmethod
    def from_outcome(cls, outcome: ProcessOutcome, backend: str, *, duration: float = 0.0,
                     enforced: Mapping[str, Any] | None = None) -> SandboxResult:
        return cls(outcome.exit_code, outcome.output, backend, outcome.timed_out,
                   outcome.truncated, duration, dict(enforced or {}))


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
    """

    cpu_seconds: int | None = None
    address_space: int | None = 4 * 1024 ** 3
    file_size: int | None = 1024 ** 3
    open_files: int | None = 1024
    processes: int | None = 512
    core: int | None = 0

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

    def preexec(self, timeout: float) -> Any:
        """A ``preexec_fn`` that applies the limits (POSIX only)."""
        import resource

        pairs = [(getattr(resource, name), value) for name, value in self.pairs(timeout)
                 if hasattr(resource, name)]

        def apply() -> None:
            for which, value in pairs:
                _soft, hard = resource.getrlimit(which)
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(which, (value, value))

        return apply


def _result_kwargs(func: Any) -> set[str]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {"max_output", "on_output"}
    return {name for name in ("max_output", "on_output") if name in params}


class ProcessSandbox:
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
        if not windows:
            extra["preexec_fn"] = self.limits.preexec(timeout)
            enforced["rlimits"] = dict(self.limits.pairs(timeout))
        started = time.monotonic()
        outcome = await run_process(
            control.shell_argv(cmd), cwd=workdir, env=env, timeout=timeout,
            max_output=max_output, on_output=on_output, kill_grace=self.kill_grace,
            drain_grace=self.drain_grace, control=control, spawner=self.spawner, **extra)
        return SandboxResult.from_outcome(outcome, self.name,
                                          duration=time.monotonic() - started,
                                          enforced=enforced)

    #: Which escape-suite probes this backend contains (see teragent.testing.escape).
    contains: frozenset[str] = frozenset({"cpu_timeout", "memory_bomb", "env_inherit"})


# --- selection ------------------------------------------------------------------------


@dataclass
class SandboxInfo:
    """One registered backend, as :func:`list_sandboxes` reports it."""

    name: str
    level: int
    priority: int
    plugin: str
    available: bool
    reason: str


def _registry() -> Any:
    from teragent.plugins import get_host

    return get_host().registry("sandboxes")


def _instantiate(target: Any) -> Any:
    return target() if isinstance(target, type) else target


def get_sandbox(name: str) -> Any:
    """A fresh instance of the backend registered as ``name``.

    Raises:
        MissingPluginError: ``name`` is a first-party backend whose plugin is missing.
        UnknownComponentError: no backend has that name.
    """
    registry = _registry()
    try:
        entry = registry.entry(name)
    except UnknownComponentError as exc:
        dist = KNOWN_SANDBOX_DISTRIBUTIONS.get(name)
        if dist:
            raise MissingPluginError(f"The sandbox backend {name!r}", dist) from exc
        raise UnknownComponentError("sandbox backend", name, registry.names()) from exc
    return _instantiate(entry.resolve())


def _entries() -> list[tuple[str, int, int, str]]:
    registry = _registry()
    rows = []
    for name in registry.names():
        entry = registry.entry(name)
        rows.append((name, int(entry.options.get("level", 0)),
                     int(entry.options.get("priority", 0)), entry.plugin))
    return rows


def list_sandboxes() -> list[SandboxInfo]:
    """Every registered backend with its level, priority and availability probe."""
    infos = []
    for name, level, priority, plugin in _entries():
        try:
            ok, reason = get_sandbox(name).available()
        except Exception as exc:  # noqa: BLE001 - a broken probe means "unavailable"
            ok, reason = False, f"availability probe failed: {type(exc).__name__}: {exc}"
        infos.append(SandboxInfo(name, level, priority, plugin, bool(ok), str(reason)))
    return sorted(infos, key=lambda i: (i.level, -i.priority, i.name))


def _candidates(choice: str | int) -> list[str]:
    if isinstance(choice, str):
        return [choice]
    rows = [r for r in _entries() if r[1] == choice]
    return [r[0] for r in sorted(rows, key=lambda r: (-r[2], r[0]))]


def select_sandbox(level: int = 0, backend: Any = None,
                   fallback: Sequence[str | int] | None = None) -> Any:
    """The backend instance :func:`execute_in_sandbox` would use.

    Args:
        level: Used when ``backend`` is ``None``: the best available backend at it.
        backend: A backend name, or an instance (used as is, if available).
        fallback: Further names or levels to try, in order, when the first choice is
            unavailable.

    Raises:
        SandboxUnavailableError: nothing requested (nor any fallback) is available;
            the message lists what was tried and why each was refused.
    """
    if backend is not None and not isinstance(backend, (str, int)):
        choices: list[Any] = [backend]
    else:
        choices = [backend if backend is not None else level]
    choices += list(fallback or [])
    tried: list[str] = []
    for choice in choices:
        if isinstance(choice, (str, int)) and not isinstance(choice, bool):
            names = _candidates(choice)
            if not names:
                tried.append(f"level {choice}: no backend registered")
            instances = [(n, None) for n in names]
        else:
            instances = [(getattr(choice, "name", type(choice).__name__), choice)]
        for name, instance in instances:
            try:
                instance = instance if instance is not None else get_sandbox(name)
            except (MissingPluginError, UnknownComponentError) as exc:
                if len(choices) == 1:
                    raise
                tried.append(f"{name}: {exc}")
                continue
            ok, reason = instance.available()
            if ok:
                return instance
            tried.append(f"{name}: {reason}")
    wanted = f"backend {backend!r}" if backend is not None else f"level {level}"
    raise SandboxUnavailableError(
        f"No sandbox is available for {wanted}: {'; '.join(tried)}. Install the backend's "
        "tool or plugin (scripts/install-sandbox-deps.sh installs the Debian packages), "
        "choose another backend, or pass fallback=[...] to accept a weaker one.",
        tried=tried)


def _resolve_workdir(workdir: str | os.PathLike[str]) -> str:
    if "\x00" in os.fspath(workdir):
        raise UserError("workdir contains a NUL byte. Pass a plain directory path.")
    path = Path(os.path.realpath(os.fspath(workdir)))
    if not path.is_dir():
        raise UserError(f"The sandbox working directory {str(workdir)!r} is not an existing "
                        "directory. Create it first or pass the workspace root.")
    return str(path)


async def execute_in_sandbox(
    cmd: str,
    workdir: str | os.PathLike[str],
    level: int = 0,
    timeout: float = 60,
    *,
    backend: Any = None,
    fallback: Sequence[str | int] | None = None,
    env: Mapping[str, str] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    on_output: OutputCallback | None = None,
) -> SandboxResult:
    """Run ``cmd`` with ``/bin/sh -c`` in ``workdir`` inside a sandbox backend.

    Args:
        cmd: The shell command (pipes, redirections and ``&&`` work).
        workdir: The workspace directory: the command's working directory and, for
            confining backends, the only place it may write (besides a private tmp).
        level: 0 (host process), 1 (namespaces/containers) or 2 (virtual machine).
        timeout: Wall-clock seconds; then every process the command started is killed.
        backend: Pin a backend by name (or pass an instance).
        fallback: Backends or levels to try in order when the first is unavailable.
        env: Extra variables on top of the scrubbed environment (no variable whose name
            looks like a secret is inherited).
        max_output: Characters of output kept (head and tail).
        on_output: Called with each output chunk as it arrives.

    Returns:
        A :class:`SandboxResult` (unpacks as ``exit_code, output``).

    Raises:
        SandboxUnavailableError: the requested backend/level is unavailable and no
            fallback fits.
        UserError: a bad ``workdir`` or ``timeout``.
    """
    if not 0 < timeout <= MAX_TIMEOUT:
        raise UserError(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds, got "
                        f"{timeout}.")
    directory = _resolve_workdir(workdir)
    chosen = select_sandbox(level, backend, fallback)
    name = getattr(chosen, "name", type(chosen).__name__)
    full_env = clean_environment(extra=env)
    accepted = _result_kwargs(chosen.run)
    kwargs: dict[str, Any] = {}
    if "max_output" in accepted:
        kwargs["max_output"] = max_output
    if "on_output" in accepted:
        kwargs["on_output"] = on_output
    started = time.monotonic()
    result = await chosen.run(cmd, directory, timeout, full_env, **kwargs)
    if not isinstance(result, SandboxResult):
        raise TypeError(f"sandbox backend {name!r} returned {type(result).__name__}, "
                        "not SandboxResult")
    result.backend = result.backend or name
    if not result.duration:
        result.duration = time.monotonic() - started
    if len(result.output) > max_output and "max_output" not in accepted:
        from teragent.security.processes import OutputBuffer

        buf = OutputBuffer(max_output)
        buf.add(result.output)
        result.output, result.truncated = buf.text(), True
    logger.debug("sandbox %s ran %r: exit %s, enforced %s", result.backend, cmd,
                 result.exit_code, result.enforced)
    return result
