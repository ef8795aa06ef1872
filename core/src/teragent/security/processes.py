"""Run one host process with a timeout, an output cap and whole-group clean-up.

Every sandbox backend ends up starting a host process (``/bin/sh``, ``bwrap``,
``runsc``, ``podman``, ``qemu-system-x86_64``, ...). This module is the one place that
starts it and makes sure nothing it started survives:

* POSIX: the process starts in a new session (``start_new_session=True``), so it and
  every descendant that does not call ``setsid`` share one process group. On timeout
  or cancellation the group gets SIGTERM, then after ``kill_grace`` SIGKILL; after a
  normal exit any process still in the group is killed as well.
* Windows: ``cmd.exe /d /s /c`` with ``CREATE_NEW_PROCESS_GROUP``; stopping sends
  CTRL_BREAK, then ``taskkill /F /T /PID`` ends the whole process tree.

A process that leaves the group deliberately (``setsid``, a double-forking daemon)
escapes this clean-up; containing it needs a stronger backend (a PID namespace, a
subreaper, a container).

The ``bash`` tool and :mod:`teragent.security.sandbox` share this code.
"""

from __future__ import annotations

import codecs
import inspect
import logging
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Sequence

if TYPE_CHECKING:  # asyncio loads when a process is run, not with the tools
    import asyncio

__all__ = [
    "clean_environment",
    "OutputBuffer",
    "ProcessOutcome",
    "PosixControl",
    "WindowsControl",
    "spawn",
    "run_process",
]

logger = logging.getLogger("teragent.security.processes")

#: ``subprocess.CREATE_NEW_PROCESS_GROUP`` (its value on Windows; subprocess loads when a
#: process is run).
CREATE_NEW_PROCESS_GROUP = 0x00000200
CTRL_BREAK_EVENT = getattr(signal, "CTRL_BREAK_EVENT", 1)

OutputCallback = Callable[[str], "Awaitable[None] | None"]
Spawner = Callable[..., Awaitable[Any]]


def clean_environment(base: Mapping[str, str] | None = None,
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) without secret-looking variables,
    with non-interactive defaults, then ``extra`` on top.

    A variable is dropped when its name names a secret
    (:func:`teragent.secrets.is_secret_name`: ``OPENAI_API_KEY``, ``GITHUB_TOKEN``,
    ``DB_PASSWORD``...). Variables in ``extra`` are the caller's explicit choice and are
    kept.
    """
    from teragent.secrets import is_secret_name

    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not is_secret_name(k)}
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


class Child:
    """A started process: its asyncio process, an exit event and its transport.

    The event is set by the protocol's ``process_exited``: on Python 3.11
    ``Process.wait()`` only returns once every pipe is closed, which a background
    grandchild can delay for ever.
    """

    def __init__(self, proc: asyncio.subprocess.Process,
                 transport: asyncio.SubprocessTransport, exited: asyncio.Event) -> None:
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


async def spawn(argv: Sequence[str], **kwargs: Any) -> Child:
    """Start ``argv`` with :meth:`asyncio.loop.subprocess_exec` (``kwargs`` passed on)."""
    import asyncio

    loop = asyncio.get_running_loop()
    exited = asyncio.Event()

    class Protocol(asyncio.subprocess.SubprocessStreamProtocol):
        def process_exited(self) -> None:
            super().process_exited()
            exited.set()

    transport, protocol = await loop.subprocess_exec(
        lambda: Protocol(limit=2 ** 16, loop=loop), *argv, **kwargs)
    return Child(asyncio.subprocess.Process(transport, protocol, loop), transport, exited)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty


class PosixControl:
    """Process-group control on POSIX: a new session, ``killpg`` TERM then KILL."""

    platform = "posix"

    def shell_argv(self, command: str) -> list[str]:
        return ["/bin/sh", "-c", command]

    def spawn_options(self) -> dict[str, Any]:
        return {"start_new_session": True}

    async def terminate(self, child: Any) -> None:
        _signal_group(child.pid, signal.SIGTERM)

    async def kill(self, child: Any) -> None:
        _signal_group(child.pid, signal.SIGKILL)


class WindowsControl:
    """Process-tree control on Windows: CTRL_BREAK, then ``taskkill /F /T``.

    Args:
        spawner: How to start ``taskkill`` (tests pass a fake).
    """

    platform = "win32"

    def __init__(self, spawner: Spawner | None = None) -> None:
        self._spawn = spawner

    def shell_argv(self, command: str) -> list[str]:
        return ["cmd.exe", "/d", "/s", "/c", command]

    def spawn_options(self) -> dict[str, Any]:
        return {"creationflags": CREATE_NEW_PROCESS_GROUP}

    async def terminate(self, child: Any) -> None:
        try:
            child.send_signal(CTRL_BREAK_EVENT)
        except (ProcessLookupError, OSError):
            pass

    async def kill(self, child: Any) -> None:
        import subprocess

        spawner = self._spawn or spawn
        killer = await spawner(["taskkill", "/F", "/T", "/PID", str(child.pid)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            await killer.wait_exit()
        finally:
            killer.close()


@dataclass
class ProcessOutcome:
    """What :func:`run_process` observed."""

    exit_code: int
    output: str
    timed_out: bool
    truncated: bool
    output_chars: int
    leftovers: bool


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str] | None,
    timeout: float,
    max_output: int = 30_000,
    on_output: OutputCallback | None = None,
    kill_grace: float = 2.0,
    drain_grace: float = 0.5,
    control: PosixControl | WindowsControl | None = None,
    spawner: Spawner | None = None,
    **spawn_kwargs: Any,
) -> ProcessOutcome:
    """Run ``argv`` to completion or timeout; stdout and stderr are combined.

    Args:
        argv: The program and its arguments.
        cwd: The working directory.
        env: The complete environment (``None`` inherits ours: avoid).
        timeout: Wall-clock seconds before the whole group is stopped.
        max_output: Characters kept (head and tail); the middle is cut with a note.
        on_output: Called with each decoded chunk as it arrives (sync or async);
            its exceptions are logged and ignored.
        kill_grace: Seconds between SIGTERM and SIGKILL.
        drain_grace: After the process exits, seconds to wait for background
            processes to release the output before they are stopped.
        control: :class:`PosixControl` (default on POSIX) or :class:`WindowsControl`.
        spawner: Replaces :func:`spawn` (tests).
        **spawn_kwargs: Passed to the spawner (``preexec_fn``, ``pass_fds``, ...).
    """
    import asyncio
    import subprocess  # (both here: the tools import this module when an agent is built)

    if control is None:
        control = WindowsControl(spawner) if os.name == "nt" else PosixControl()
    options = {**control.spawn_options(), **spawn_kwargs}
    proc = await (spawner or spawn)(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        **options)
    output = OutputBuffer(max_output)
    reader = asyncio.create_task(_pump(proc, output, on_output))
    waiter = asyncio.create_task(proc.wait_exit())
    timed_out = leftovers = False
    try:
        done, _ = await asyncio.wait({reader, waiter}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:
            timed_out = True
        elif reader in done:
            # EOF: every process holding the pipe closed it; the leader ends soon.
            timed_out = not (await asyncio.wait({waiter}, timeout=timeout))[0]
        else:
            # The leader exited but something it started still holds the pipe.
            leftovers = not (await asyncio.wait({reader}, timeout=drain_grace))[0]
    finally:
        # Runs on success, timeout and cancellation alike: nothing may survive.
        await _stop(control, proc, kill_grace,
                    graceful=timed_out or leftovers or proc.returncode is None)
        # Collect what the group wrote while it was being stopped.
        await asyncio.wait({reader}, timeout=1.0)
        for task in (reader, waiter):
            task.cancel()
        await asyncio.gather(reader, waiter, return_exceptions=True)
        proc.close()
    code = proc.returncode if proc.returncode is not None else -1
    if leftovers:
        output.add("\n[background processes still holding the output were stopped]\n")
    return ProcessOutcome(code, output.text(), timed_out, output.truncated, output.total,
                          leftovers)


async def _pump(proc: Any, output: OutputBuffer, on_output: OutputCallback | None) -> None:
    assert proc.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = await proc.stdout.read(65536)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            output.add(text)
            await _report(on_output, text)
        if not chunk:
            break


async def _stop(control: PosixControl | WindowsControl, proc: Any, kill_grace: float, *,
                graceful: bool) -> None:
    """Terminate the whole process group (TERM, grace, KILL) and reap the leader."""
    import asyncio

    try:
        if graceful:
            await control.terminate(proc)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait_exit()), kill_grace)
            except asyncio.TimeoutError:
                pass
    finally:
        # Unconditional: background children may outlive the leader or ignore TERM.
        await control.kill(proc)
        await proc.wait_exit()


async def _report(callback: OutputCallback | None, text: str) -> None:
    if callback is None:
        return
    try:
        out = callback(text)
        if inspect.isawaitable(out):
            await out
    except Exception:  # noqa: BLE001 - an observer must never break the command
        logger.exception("output callback failed")
