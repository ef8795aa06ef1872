"""The ``bash`` tool: run a shell command in the workspace, and leave nothing behind.

On POSIX the command runs as ``/bin/sh -c COMMAND`` in a new session
(``start_new_session=True``), so it and every process it starts share one process
group. On timeout or cancellation that whole group gets SIGTERM, then, after a short
grace period, SIGKILL; after a normal exit any background process still in the group
is killed as well. On Windows the command runs under ``cmd.exe /c`` with
``CREATE_NEW_PROCESS_GROUP``; stopping it sends CTRL_BREAK, then ``taskkill /F /T``
(the whole process tree).

A process that deliberately leaves the group (``setsid``, a double-forking daemon)
escapes this clean-up; containing that needs a sandbox (cgroups, a container).

The child's environment is an allow list (:func:`teragent.security.sandbox.
sandbox_environment`: ``PATH``, ``HOME``, locale, ``TERM``, ``TZ``, ``USER``... plus
the names in ``[sandbox] env``), so API keys, tokens and connection strings do not
leak into commands (or into their output, which the model reads), whatever their
names.

Every command runs through :func:`teragent.security.execute_in_sandbox`: by default
the run's ``[sandbox] backend``, else the first available of ``bwrap``, ``landlock``
and ``process`` (:func:`teragent.security.sandbox.default_sandbox`; ``teragent
sandbox`` shows which one and what it contains); ``sandbox=`` pins a backend and
``sandbox_level=`` asks for a level instead. The process-group code lives in
:mod:`teragent.security.processes`, shared with every sandbox backend.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from teragent.core.types import ToolSafety
from teragent.errors import SandboxUnavailableError
from teragent.tools.base import ProgressCallback, ToolResult

from teragent_tools._common import TerAgentTool, ToolFailure

__all__ = ["BashTool", "clean_environment", "OutputBuffer"]

logger = logging.getLogger("teragent_tools.shell")

MAX_TIMEOUT = 600.0

# Re-exported from the kernel's process layer, which loads with the first command (or
# the first use of one of these names), not when the tool is registered.
_FROM_PROCESSES = {"clean_environment": "clean_environment", "OutputBuffer": "OutputBuffer",
                   "_CTRL_BREAK_EVENT": "CTRL_BREAK_EVENT"}


def __getattr__(name: str) -> Any:
    if name not in _FROM_PROCESSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from teragent.security import processes

    value = getattr(processes, _FROM_PROCESSES[name])
    globals()[name] = value
    return value


async def _spawn(argv: list[str], **kwargs: Any) -> Any:
    """The process starter (looked up at call time, so tests can replace it)."""
    from teragent.security.processes import spawn

    return await spawn(argv, **kwargs)


async def _indirect_spawn(argv: list[str], **kwargs: Any) -> Any:
    return await _spawn(argv, **kwargs)


class BashTool(TerAgentTool):
    """Run a shell command in the workspace with a timeout and an output cap.

    Args:
        workspace: The directory the command runs in (default: the current directory).
        timeout: Default timeout in seconds (a call may ask for up to 600).
        max_output_chars: Output beyond this is cut from the middle, with a note.
        kill_grace: Seconds between SIGTERM and SIGKILL.
        drain_grace: After the shell exits, seconds to wait for background processes
            to release its output before they are stopped.
        env: Extra environment variables for every command.
        platform: ``"win32"`` or a POSIX platform name (default: this one); tests use it
            to exercise the Windows code path.
        sandbox: Pin a sandbox backend by name (``"process"``, ``"landlock"``,
            ``"bwrap"``...); default: ``[sandbox] backend``, else the first available
            of bwrap, landlock, process (with ``sandbox_level`` above 0: the best
            available at that level).
        sandbox_level: 0 (host process), 1 (namespaces/containers), 2 (VM).
        sandbox_fallback: Backends or levels accepted when the chosen one is
            unavailable (default: the ``process`` backend); ``None`` makes an
            unavailable sandbox an error.
    """

    name: ClassVar[str] = "bash"
    description: ClassVar[str] = (
        "Run a shell command (/bin/sh -c) in the workspace directory and return its exit "
        "code and combined stdout/stderr. Commands time out (default 60 s, 'timeout' up "
        "to 600); on timeout every process the command started is killed. Background "
        "processes do not survive the call. Only an allow list of environment variables "
        "is passed.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The shell command to run."},
            "timeout": {"type": "number",
                        "description": "Seconds before the command is killed (max 600)."},
        },
        "required": ["command"],
        "additionalProperties": False,
    }
    category = "shell"
    keywords: ClassVar[tuple[str, ...]] = ("run", "execute", "shell", "command", "bash",
                                           "test", "build", "install")
    command_params: ClassVar[tuple[str, ...]] = ("command",)
    data_params: ClassVar[tuple[str, ...]] = ("timeout",)
    _safety: ClassVar[ToolSafety] = ToolSafety.HIGH_RISK
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, workspace: str | Path | None = None, *, timeout: float = 60.0,
                 max_output_chars: int = 30_000, kill_grace: float = 2.0,
                 drain_grace: float = 0.5,
                 env: Mapping[str, str] | None = None, platform: str | None = None,
                 sandbox: str | None = None, sandbox_level: int = 0,
                 sandbox_fallback: Sequence[str | int] | None = ("process",)) -> None:
        self.workspace = Path(os.path.abspath(workspace if workspace is not None
                                              else os.getcwd()))
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.kill_grace = kill_grace
        self.drain_grace = drain_grace
        self.extra_env = dict(env or {})
        self.platform = platform or sys.platform
        self.sandbox = sandbox
        self.sandbox_level = sandbox_level
        self.sandbox_fallback = list(sandbox_fallback) if sandbox_fallback else None

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        command = params["command"]
        if not command.strip():
            raise ToolFailure("command is empty. Give the shell command to run.")
        timeout = params.get("timeout", self.timeout)
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ToolFailure(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds, "
                              f"got {timeout}.")
        if not self.workspace.is_dir():
            raise ToolFailure(f"The workspace {str(self.workspace)!r} is not a directory.")
        # The sandbox layer loads with the first command, not when an agent is built.
        from teragent.security.sandbox import default_sandbox, execute_in_sandbox
        from teragent_sandbox_process.backend import ProcessSandbox

        # The level-0 process backend (teragent-sandbox-process, a dependency), with this
        # tool's grace periods; it is also what runs when the platform is Windows or the
        # caller pinned "process".
        process = ProcessSandbox(kill_grace=self.kill_grace, drain_grace=self.drain_grace,
                                 platform=self.platform, spawner=_indirect_spawn)
        if self.platform == "win32" or self.sandbox == "process":
            backend: Any = process
            fallback = None
        else:
            backend = self.sandbox
            if backend is None and self.sandbox_level == 0:
                backend = default_sandbox()  # [sandbox] backend, else the strongest here
            fallback = [process if f == "process" else f for f in self.sandbox_fallback or []]
        try:
            result = await execute_in_sandbox(
                command, self.workspace, self.sandbox_level, timeout, backend=backend,
                fallback=fallback, env=self.extra_env, max_output=self.max_output_chars,
                on_output=progress_callback)
        except SandboxUnavailableError as exc:
            raise ToolFailure(str(exc)) from exc
        res = self._result(result.exit_code, result.output, result.truncated,
                           result.timed_out, timeout)
        res.metadata["sandbox"] = result.backend
        return res

    def _result(self, code: int, text: str, truncated: bool, timed_out: bool,
                timeout: float) -> ToolResult:
        meta = {"exit_code": code, "timed_out": timed_out, "truncated": truncated,
                "output_chars": len(text)}
        if timed_out:
            return self.fail(
                f"The command timed out after {timeout:g} s and was killed together with "
                "every process it started. Give a larger 'timeout' (up to 600 s) or make "
                f"the command finish sooner.\nOutput so far:\n{text}", **meta)
        body = f"{text}{'' if not text or text.endswith(chr(10)) else chr(10)}[exit code {code}]"
        if code != 0:
            return self.fail(f"The command exited with code {code}.\n{body}", **meta)
        return self.ok(body, **meta)
