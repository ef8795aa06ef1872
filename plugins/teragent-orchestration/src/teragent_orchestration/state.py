"""Shared state and cancellation for multi-agent runs.

- :class:`CancellationToken`: thread-safe, cooperative. ``cancel()`` may be called from
  any thread; callbacks registered by the runner cancel the asyncio tasks that are
  streaming from a model or running a tool, so cancellation interrupts the call in
  flight, not only the gap between steps.
- :class:`AsyncRWLock`: many readers or one writer; a waiting writer blocks new
  readers (writer preference), so a stream of readers cannot starve a writer.
- :class:`SharedState`: key/value state in three scopes: ``session`` (this run),
  ``agent`` (one namespace per agent) and ``global`` (process-wide, shared by every
  :class:`SharedState`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import sys
import threading
from collections import deque
from typing import Any, AsyncIterator, Callable, Literal

from teragent.errors import RunCancelled, UserError

__all__ = ["CancellationToken", "AsyncRWLock", "SharedState", "Scope"]

Scope = Literal["session", "agent", "global"]
_SCOPES = ("session", "agent", "global")


def current_task_cancelling() -> int:
    """Pending cancellation requests of the running task (``Task.cancelling()``).

    0 outside a task, and on Python 3.10, which cannot tell.
    """
    current = asyncio.current_task()
    if current is None:
        return 0
    if sys.version_info >= (3, 11):
        return current.cancelling()
    return 0


class CancellationToken:
    """Cooperative cancellation, safe to trigger from any thread.

    Example::

        token = CancellationToken()
        token.cancel()          # from a signal handler, a UI thread, a hook ...
        if token.is_cancelled:
            print("Cancelled!")
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self.reason = ""
        self._callbacks: dict[int, Callable[[], Any]] = {}
        self._next = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def cancel(self, reason: str = "cancelled") -> None:
        """Request cancellation (idempotent); runs the registered callbacks once."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            self.reason = reason
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
            waiters, self._waiters = self._waiters, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one bad callback must not stop the others
                pass
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, fut)

    def register(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback`` on cancellation (at once if already cancelled).

        Returns:
            A function that unregisters it.
        """
        with self._lock:
            if not self._cancelled:
                key = self._next
                self._next += 1
                self._callbacks[key] = callback
                return lambda: self._callbacks.pop(key, None) and None
        callback()
        return lambda: None

    def raise_if_cancelled(self) -> None:
        if self._cancelled:
            raise RunCancelled(f"the orchestration was cancelled ({self.reason})",
                               state={"reason": self.reason})

    async def wait(self) -> None:
        """Wait until cancelled."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._cancelled:
                return
            self._waiters.append((loop, fut))
        await fut

    def child(self) -> "CancellationToken":
        """A token cancelled with this one (but cancellable on its own)."""
        token = CancellationToken()
        self.register(lambda: token.cancel(self.reason))
        return token

    def cancel_task_on_cancel(self, task: "asyncio.Future[Any]") -> Callable[[], None]:
        """Cancel ``task`` (in its own loop, from whatever thread) when cancelled."""
        loop = task.get_loop()

        def stop() -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        return self.register(stop)


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AsyncRWLock:
    """A reader/writer lock for asyncio with writer preference.

    Example::

        lock = AsyncRWLock()
        async with lock.read():
            ...
        async with lock.write():
            ...
    """

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @property
    def readers(self) -> int:
        return self._readers

    @property
    def writing(self) -> bool:
        return self._writer

    async def acquire_read(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1

    async def release_read(self) -> None:
        async with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    async def acquire_write(self) -> None:
        async with self._cond:
            self._writers_waiting += 1
            try:
                await self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            finally:
                self._writers_waiting -= 1
            self._writer = True

    async def release_write(self) -> None:
        async with self._cond:
            self._writer = False
            self._cond.notify_all()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        await self.acquire_read()
        try:
            yield
        finally:
            await self.release_read()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        await self.acquire_write()
        try:
            yield
        finally:
            await self.release_write()


class SharedState:
    """Scoped key/value state shared by the agents of an orchestration.

    ``session`` values belong to this state object (one run), ``agent`` values to one
    agent (pass ``agent=``), ``global`` values to the process. The synchronous
    ``get``/``set`` are atomic per call; ``aget``/``aset``/``aupdate`` take the
    :class:`AsyncRWLock`, so a read-modify-write by parallel agents is not lost.

    Example::

        state = SharedState()
        state.set("key", "value", scope="session")
        value = state.get("key", scope="session")
    """

    _global: dict[str, Any] = {}
    _global_lock = threading.Lock()

    def __init__(self, session_id: str = "") -> None:
        self.session_id = session_id
        self._session: dict[str, Any] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._mutex = threading.Lock()
        self.lock = AsyncRWLock()
        self.history: deque[tuple[str, str, str | None]] = deque(maxlen=1000)

    def _store(self, scope: str, agent: str | None) -> dict[str, Any]:
        if scope == "session":
            return self._session
        if scope == "global":
            return SharedState._global
        if scope == "agent":
            if not agent:
                raise UserError("The 'agent' scope needs the agent's name: "
                                "state.set(key, value, scope='agent', agent='coder').")
            return self._agents.setdefault(agent, {})
        raise UserError(f"Unknown state scope {scope!r}; use one of {', '.join(_SCOPES)}.")

    def _mutex_for(self, scope: str) -> threading.Lock:
        return SharedState._global_lock if scope == "global" else self._mutex

    def get(self, key: str, default: Any = None, *, scope: Scope = "session",
            agent: str | None = None) -> Any:
        with self._mutex_for(scope):
            return self._store(scope, agent).get(key, default)

    def set(self, key: str, value: Any, *, scope: Scope = "session",
            agent: str | None = None) -> None:
        with self._mutex_for(scope):
            self._store(scope, agent)[key] = value
            self.history.append(("set", key, agent))

    def delete(self, key: str, *, scope: Scope = "session", agent: str | None = None) -> None:
        with self._mutex_for(scope):
            self._store(scope, agent).pop(key, None)
            self.history.append(("delete", key, agent))

    def keys(self, *, scope: Scope = "session", agent: str | None = None) -> list[str]:
        with self._mutex_for(scope):
            return sorted(self._store(scope, agent))

    async def aget(self, key: str, default: Any = None, *, scope: Scope = "session",
                   agent: str | None = None) -> Any:
        async with self.lock.read():
            return self.get(key, default, scope=scope, agent=agent)

    async def aset(self, key: str, value: Any, *, scope: Scope = "session",
                   agent: str | None = None) -> None:
        async with self.lock.write():
            self.set(key, value, scope=scope, agent=agent)

    async def aupdate(self, key: str, fn: Callable[[Any], Any], default: Any = None, *,
                      scope: Scope = "session", agent: str | None = None) -> Any:
        """Atomically replace the value with ``fn(old)``; returns the new value."""
        async with self.lock.write():
            new = fn(self.get(key, default, scope=scope, agent=agent))
            if asyncio.iscoroutine(new):
                new = await new
            self.set(key, new, scope=scope, agent=agent)
            return new

    def snapshot(self) -> dict[str, Any]:
        """The session and agent scopes (what a checkpoint saves)."""
        with self._mutex:
            return {"session": copy.deepcopy(self._session),
                    "agents": copy.deepcopy(self._agents)}

    def restore(self, data: dict[str, Any]) -> None:
        with self._mutex:
            self._session = dict(data.get("session") or {})
            self._agents = {k: dict(v) for k, v in (data.get("agents") or {}).items()}

    @classmethod
    def clear_global(cls) -> None:
        with cls._global_lock:
            cls._global.clear()
