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

and subclasses :class:`SandboxBackend`: ``available() -> (bool, reason)`` and
``async run(cmd, workdir, timeout, env, *, max_output, on_output) -> SandboxResult``.
Levels:

====== ===================================================================
level  meaning
====== ===================================================================
0      a host process: ``process`` (teragent-sandbox-process), ``landlock``
1      namespaces / a container: ``bwrap``, ``gvisor``, ``container``
2      a virtual machine: ``microvm``
====== ===================================================================

Selection: ``backend="name"`` pins one backend; otherwise the available backend with
the highest ``priority`` at ``level`` wins (on Linux with Landlock that is
``landlock`` at level 0). If nothing fits, :class:`~teragent.errors.
SandboxUnavailableError` is raised, unless ``fallback`` names other backends or levels
to try in order. Nothing falls back silently: the result names the backend that ran.

The ``process`` backend (teragent-sandbox-process, a dependency of teragent-tools)
works everywhere; its process-group machinery (:mod:`teragent.security.processes`)
stays in the kernel because every backend uses it to start its own host process.
"""

from __future__ import annotations

import abc
import logging
import os
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
from teragent.security.limits import Limits
from teragent.security.processes import OutputCallback, ProcessOutcome

__all__ = [
    "SandboxResult",
    "SandboxInfo",
    "Limits",
    "SandboxBackend",
    "execute_in_sandbox",
    "list_sandboxes",
    "get_sandbox",
    "select_sandbox",
    "protected_paths",
    "sandbox_environment",
    "default_sandbox",
    "DEFAULT_PREFERENCE",
    "ENV_ALLOWED",
    "DEFAULT_MAX_OUTPUT",
]

logger = logging.getLogger("teragent.security.sandbox")

DEFAULT_MAX_OUTPUT = 30_000
MAX_TIMEOUT = 3600.0

#: First-party backends that live in separately installed plugins.
KNOWN_SANDBOX_DISTRIBUTIONS = {
    "process": "teragent-sandbox-process",
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


class SandboxBackend(abc.ABC):
    """Base class of sandbox backends (the ``teragent_register_sandboxes`` seam).

    A backend answers two questions: can it run here (:meth:`available`, a cheap probe)
    and run one command (:meth:`run`). :func:`execute_in_sandbox` resolves the working
    directory, scrubs the environment and checks the timeout before calling :meth:`run`.

    Attributes:
        name: The registered name (reported in :attr:`SandboxResult.backend`).
        level: 0 (host process), 1 (namespaces/containers) or 2 (virtual machine).
        contains: Which escape-suite probes this backend claims to contain.
    """

    name: str = ""
    level: int = 0
    contains: frozenset[str] = frozenset()

    @abc.abstractmethod
    def available(self) -> tuple[bool, str]:
        """``(True, why)`` when this backend can run commands here, else ``(False, why)``."""

    @abc.abstractmethod
    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        """Run ``cmd`` with ``/bin/sh -c`` in ``workdir``; kill everything it started
        after ``timeout`` seconds; keep ``max_output`` characters (head and tail); pass
        each output chunk to ``on_output`` as it arrives."""


def protected_paths(workdir: str) -> list[tuple[str, frozenset[str]]]:
    """The existing paths under ``workdir`` that the current run's protected-path
    policy covers (:mod:`teragent.security.policy`), with the operations it refuses.

    A backend that can shape the command's view of the file system (bind mounts) hides
    those refused for reading and mounts the rest read-only, so a command that gets
    past the command check (``f=.e; cat ${f}nv``) still cannot reach them. Outside an
    agent run the list is empty.
    """
    import glob

    from teragent.runtime import current_runtime

    runtime = current_runtime()
    policy = getattr(runtime, "path_policy", None)
    if policy is None:
        return []
    root = os.path.realpath(workdir)
    found: dict[str, frozenset[str]] = {}
    for pattern, ops in policy.protected_globs():
        if pattern.endswith("/**"):
            pattern = pattern[:-3]  # the directory itself: one mount covers it
        for path in glob.glob(pattern, recursive=True):
            real = os.path.realpath(path)
            if real == root or not real.startswith(root + os.sep):
                continue
            found[real] = found.get(real, frozenset()) | ops
    return sorted(found.items())


#: The host variables every sandboxed command inherits (when set). Everything else is
#: dropped, whatever its name (``GH_PAT``, ``DATABASE_URL``...), unless ``[sandbox] env``
#: in ``agent.toml`` names it or the caller passes it explicitly (``env=``).
ENV_ALLOWED: tuple[str, ...] = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
                                "LC_MESSAGES", "TERM", "TZ", "USER", "LOGNAME", "SHELL",
                                "TMPDIR")
#: Set for every command: no pager, no interactive git prompt.
ENV_FIXED: dict[str, str] = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}


def sandbox_environment(extra: Mapping[str, str] | None = None, *,
                        base: Mapping[str, str] | None = None,
                        allow: Sequence[str] = ()) -> dict[str, str]:
    """The environment a sandboxed command gets: an allow list, not a deny list.

    :data:`ENV_ALLOWED` plus ``allow`` plus the current run's ``[sandbox] env`` names,
    taken from ``base`` (default ``os.environ``), then :data:`ENV_FIXED`, then ``extra``
    (the caller's explicit choice, kept as given). The one place every backend's
    environment comes from: :func:`execute_in_sandbox` calls it.
    """
    from teragent.runtime import current_runtime

    source = os.environ if base is None else base
    runtime = current_runtime()
    names = set(ENV_ALLOWED) | set(allow) | set(getattr(runtime, "sandbox_env", ()) or ())
    env = {k: source[k] for k in sorted(names) if k in source}
    env.update(ENV_FIXED)
    env.update(extra or {})
    return env


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


#: The ``bash`` tool's default: the first of these that runs here. Strongest first among
#: backends that start in milliseconds (``docs/sandboxes.md``, start-up overhead);
#: gvisor, container and microvm are chosen explicitly (``[sandbox] backend``).
DEFAULT_PREFERENCE: tuple[str, ...] = ("bwrap", "landlock", "process")


def default_sandbox() -> str:
    """The backend name the ``bash`` tool uses when none is pinned: the current run's
    ``[sandbox] backend``, else the first available of :data:`DEFAULT_PREFERENCE`."""
    from teragent.runtime import current_runtime

    pinned = getattr(current_runtime(), "sandbox_backend", None)
    if pinned:
        return str(pinned)
    for name in DEFAULT_PREFERENCE:
        try:
            ok, _why = get_sandbox(name).available()
        except (MissingPluginError, UnknownComponentError):
            continue
        if ok:
            return name
    return "process"


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
        env: Extra variables on top of the allow-listed environment
            (:func:`sandbox_environment`: nothing outside :data:`ENV_ALLOWED` and
            ``[sandbox] env`` is inherited, whatever its name).
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
    full_env = sandbox_environment(extra=env)
    started = time.monotonic()
    wall_start = time.time()
    result = await chosen.run(cmd, directory, timeout, full_env, max_output=max_output,
                              on_output=on_output)
    if not isinstance(result, SandboxResult):
        raise TypeError(f"sandbox backend {name!r} returned {type(result).__name__}, "
                        "not SandboxResult")
    result.backend = result.backend or name
    if not result.duration:
        result.duration = time.monotonic() - started
    # Whatever the backend, nothing left in the workspace may carry privileges or
    # reach outside it (setuid bits, device nodes, hard links to outside files).
    if os.name == "posix":
        import asyncio

        from teragent.security.confine import sanitize_workspace

        cleaned = await asyncio.to_thread(sanitize_workspace, directory, since=wall_start)
        if cleaned:
            result.enforced.update(cleaned)
    if len(result.output) > max_output:  # a backend that ignored the cap
        from teragent.security.processes import OutputBuffer

        buf = OutputBuffer(max_output)
        buf.add(result.output)
        result.output, result.truncated = buf.text(), True
    logger.debug("sandbox %s ran %r: exit %s, enforced %s", result.backend, cmd,
                 result.exit_code, result.enforced)
    return result
