"""A Windows process tree, faked: tests of the CTRL_BREAK-then-``taskkill`` path
(:class:`teragent.security.processes`) run on any platform.

``windows_spawner(finishes=...)`` gives a spawner for a backend or tool (``spawner=``
or a patched ``_spawn``) and the list of calls it received: ``(argv, kwargs, process)``,
the command first (pid 4242, printing ``hello``), then ``taskkill``, which ends the
command with exit code 1 as the real one would.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

__all__ = ["FakeProcess", "windows_spawner"]


class FakeProcess:
    """A started process: ``output`` on its stdout; it ends on :meth:`finish`, or at
    once with ``finishes``. Signals are recorded (a CTRL_BREAK it ignores), not acted on."""

    def __init__(self, pid: int, output: bytes = b"", finishes: bool = False) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = asyncio.StreamReader()
        self.stdout.feed_data(output)
        self.signals: list[int] = []
        self._done = asyncio.Event()
        self.closed = False
        if finishes:
            self.finish(0)

    def finish(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            self.stdout.feed_eof()
            self._done.set()

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)

    async def wait_exit(self) -> int | None:
        await self._done.wait()
        return self.returncode

    def close(self) -> None:
        self.closed = True


def windows_spawner(*, finishes: bool, output: bytes = b"hello\r\n",
                    ) -> tuple[Callable[..., Awaitable[FakeProcess]], list[Any]]:
    """A spawner whose command prints ``output`` (and exits by itself with ``finishes``),
    and the ``(argv, kwargs, process)`` of every call it received."""
    calls: list[Any] = []

    async def spawn(argv: list[str], **kwargs: Any) -> FakeProcess:
        if argv[0] == "taskkill":
            calls[0][2].finish(1)
            killer = FakeProcess(99, finishes=True)
            calls.append((tuple(argv), kwargs, killer))
            return killer
        proc = FakeProcess(4242, output, finishes=finishes)
        calls.append((tuple(argv), kwargs, proc))
        return proc

    return spawn, calls
