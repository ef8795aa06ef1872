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

The child's environment is a copy of ours without any variable whose name contains
KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL, so API keys do not leak into
commands (or into their output, which the model reads).
"""

from __future__ import annotations

import asyncio
import codecs
import inspect
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, Mapping

from teragent.core.types import ToolSafety
from teragent.tools.base import ProgressCallback, ToolResult

from teragent_tools._common import TerAgentTool, ToolFailure

__all__ = ["BashTool", "clean_environment", "OutputBuffer"]

logger = logging.getLogger("teragent_tools.shell")

#: Substrings (upper case) of environment variable names that are never passed on.
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
MAX_TIMEOUT = 600.0
_CREATE_NEW_PROCESS_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x00000200)
_CTRL_BREAK_EVENT = getattr(signal, "CTRL_BREAK_EVENT", 1)


def clean_environment(base: Mapping[str, str] | None = None,
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) without secret-looking variables,
    with non-interactive defaults, then ``extra`` on top."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items()
           if not any(marker in k.upper() for marker in SECRET_MARKERS)}
    env.setdefault("PAGER", "cat")
    env.setdefault("GIT_PAGER", "cat")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


class OutputBuffer:
    """Keeps the first and the last ``cap // 2`` characters of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = ""
        self.tail = ""
        self.total = 0

    def add(self, text: str) -> None:
        self.total += len(text)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail = (self.tail + text)[-(self.cap - self.cap // 2):]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.truncated:
            return self.head + self.tail
        omitted = self.total - len(self.head) - len(self.tail)
        return (f"{self.head}\n[... output truncated: {omitted} characters omitted from the "
                f"middle; redirect to a file and grep it to see everything ...]\n{self.tail}")


class _Child:
    """A started command: its asyncio process, an exit event and its transport.

    The event is set by the protocol's ``process_exited``: on Python 3.11
    ``Process.wait()`` only returns once every pipe is closed, which a background
    grandchild can delay for ever.
    """

    def __init__(self, proc: asyncio.subprocess.Process, transport: asyncio.SubprocessTransport,
                 exited: asyncio.Event) -> None:
        self.proc, self.transport, self.exited = proc, transport, exited

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    @property
    def stdout(self) -> asyncio.StreamReader | None:
        return self.proc.stdout

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self) -> int | None:
        await self.exited.wait()
        return self.proc.returncode

    def close(self) -> None:
        self.transport.close()


async def _spawn(argv: list[str], **kwargs: Any) -> _Child:
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()

    class Protocol(asyncio.subprocess.SubprocessStreamProtocol):
        def process_exited(self) -> None:
            super().process_exited()
            exited.set()

    transport, protocol = await loop.subprocess_exec(
        lambda: Protocol(limit=2 ** 16, loop=loop), *argv, **kwargs)
    return _Child(asyncio.subprocess.Process(transport, protocol, loop), transport, exited)


class _Posix:
    """Process-group control on POSIX."""

    def argv(self, command: str) -> list[str]:
        return ["/bin/sh", "-c", command]

    def spawn_options(self) -> dict[str, Any]:
        return {"start_new_session": True}

    async def terminate(self, child: _Child) -> None:
        _signal_group(child.pid, signal.SIGTERM)

    async def kill(self, child: _Child) -> None:
        _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty


class _Windows:
    """Process-tree control on Windows."""

    def argv(self, command: str) -> list[str]:
        return ["cmd.exe", "/d", "/s", "/c", command]

    def spawn_options(self) -> dict[str, Any]:
        return {"creationflags": _CREATE_NEW_PROCESS_GROUP}

    async def terminate(self, child: _Child) -> None:
        try:
            child.send_signal(_CTRL_BREAK_EVENT)
        except (ProcessLookupError, OSError):
            pass

    async def kill(self, child: _Child) -> None:
        killer = await _spawn(["taskkill", "/F", "/T", "/PID", str(child.pid)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            await killer.wait_exit()
        finally:
            killer.close()


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
    """

    name: ClassVar[str] = "bash"
    description: ClassVar[str] = (
        "Run a shell command (/bin/sh -c) in the workspace directory and return its exit "
        "code and combined stdout/stderr. Commands time out (default 60 s, 'timeout' up "
        "to 600); on timeout every process the command started is killed. Background "
        "processes do not survive the call. Secrets are removed from the environment.")
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
    _safety: ClassVar[ToolSafety] = ToolSafety.HIGH_RISK
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, workspace: str | Path | None = None, *, timeout: float = 60.0,
                 max_output_chars: int = 30_000, kill_grace: float = 2.0,
                 drain_grace: float = 0.5,
                 env: Mapping[str, str] | None = None, platform: str | None = None) -> None:
        self.workspace = Path(os.path.abspath(workspace if workspace is not None
                                              else os.getcwd()))
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.kill_grace = kill_grace
        self.drain_grace = drain_grace
        self.extra_env = dict(env or {})
        self._control = _Windows() if (platform or sys.platform) == "win32" else _Posix()

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
        proc = await _spawn(
            self._control.argv(command),
            cwd=str(self.workspace),
            env=clean_environment(extra=self.extra_env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **self._control.spawn_options(),
        )
        output = OutputBuffer(self.max_output_chars)
        reader = asyncio.create_task(self._pump(proc, output, progress_callback))
        waiter = asyncio.create_task(proc.wait_exit())
        timed_out = leftovers = False
        try:
            done, _ = await asyncio.wait({reader, waiter}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                timed_out = True
            elif reader in done:
                # EOF: every process holding the pipe closed it; the shell ends soon.
                timed_out = not (await asyncio.wait({waiter}, timeout=timeout))[0]
            else:
                # The shell exited but something it started still holds the pipe.
                leftovers = not (await asyncio.wait({reader}, timeout=self.drain_grace))[0]
        finally:
            # Runs on success, timeout and cancellation alike: nothing may survive.
            await self._stop(proc, graceful=timed_out or leftovers or proc.returncode is None)
            # Collect what the group wrote while it was being stopped.
            await asyncio.wait({reader}, timeout=1.0)
            for task in (reader, waiter):
                task.cancel()
            await asyncio.gather(reader, waiter, return_exceptions=True)
            proc.close()
        code = proc.returncode if proc.returncode is not None else -1
        if leftovers:
            output.add("\n[background processes still holding the output were stopped]\n")
        return self._result(code, output, timed_out, timeout)

    async def _pump(self, proc: _Child, output: OutputBuffer,
                    progress_callback: ProgressCallback | None) -> None:
        assert proc.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            chunk = await proc.stdout.read(65536)
            text = decoder.decode(chunk, final=not chunk)
            if text:
                output.add(text)
                await _report(progress_callback, text)
            if not chunk:
                break

    async def _stop(self, proc: _Child, *, graceful: bool) -> None:
        """Terminate the command's whole process group (TERM, grace, KILL) and reap it."""
        try:
            if graceful:
                await self._control.terminate(proc)
                try:
                    await asyncio.wait_for(asyncio.shield(proc.wait_exit()), self.kill_grace)
                except asyncio.TimeoutError:
                    pass
        finally:
            # Unconditional: background children may outlive the shell or ignore TERM.
            await self._control.kill(proc)
            await proc.wait_exit()

    def _result(self, code: int, output: OutputBuffer, timed_out: bool,
                timeout: float) -> ToolResult:
        text = output.text()
        meta = {"exit_code": code, "timed_out": timed_out, "truncated": output.truncated,
                "output_chars": output.total}
        if timed_out:
            return self.fail(
                f"The command timed out after {timeout:g} s and was killed together with "
                "every process it started. Give a larger 'timeout' (up to 600 s) or make "
                f"the command finish sooner.\nOutput so far:\n{text}", **meta)
        body = f"{text}{'' if not text or text.endswith(chr(10)) else chr(10)}[exit code {code}]"
        if code != 0:
            return self.fail(f"The command exited with code {code}.\n{body}", **meta)
        return self.ok(body, **meta)


async def _report(progress_callback: ProgressCallback | None, text: str) -> None:
    if progress_callback is None:
        return
    try:
        out = progress_callback(text)
        if inspect.isawaitable(out):
            await out
    except Exception:  # noqa: BLE001 - an observer must never break the command
        logger.exception("bash progress callback failed")
