"""``MCPConnection`` and ``MCPConnectionPool``: MCP sessions shared by every agent.

The SDK's client is an anyio context manager that must be entered and left by one task,
while TerAgent agents run in many event loops (each ``asyncio.run`` of the CLI, each
test, each orchestration worker) and are built synchronously. So every connection lives
in one place: the pool's own event loop, in a daemon thread. An *owner task* there enters
the SDK ``Client`` and holds it open; calls from any loop are sent over with
``run_coroutine_threadsafe`` and awaited with ``wrap_future``, which also carries a
cancellation across (cancelling the caller cancels the request, and the SDK tells the
server). Tools can then be listed at build time (synchronously) on the same connection
the calls use later.

The pool keeps at most ``max_connections`` open; opening one more closes the least
recently used idle one. A connection found dead (process exited, stream closed, a
failed health check) is dropped and reopened on next use. Health checks run in the
pool's loop every ``health_interval`` seconds per idle connection.

The pool is here; one connection (:class:`MCPConnection`, the session with one server)
and the errors are in :mod:`teragent_mcp.session` (re-exported).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from teragent_mcp.config import MCPServerConfig
from teragent_mcp.session import MCPCallError, MCPConnectError, MCPConnection, logger

__all__ = ["MCPConnection", "MCPConnectionPool", "MCPConnectError", "MCPCallError"]

T = TypeVar("T")


class _LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="teragent-mcp-pool",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Awaitable[T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def run(self, coro: Awaitable[T]) -> T:
        """Await ``coro`` in this loop from any loop (cancellation crosses over)."""
        if self.in_loop():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def run_sync(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``coro`` in this loop and wait for it from synchronous code."""
        if self.in_loop():
            raise RuntimeError("run_sync called from the pool's own loop")
        return self.submit(coro).result(timeout)


class MCPConnectionPool:
    """Open MCP connections, shared by every agent of the process.

    Args:
        max_connections: At most this many open; the least recently used idle one is
            closed to make room.

    ``MCPConnectionPool.shared()`` is the process-wide pool the toolsets use by default.
    """

    _shared: MCPConnectionPool | None = None
    _shared_lock = threading.Lock()

    def __init__(self, max_connections: int = 16) -> None:
        self.max_connections = max_connections
        self._loop = _LoopThread()
        self._conns: collections.OrderedDict[tuple[str, str], MCPConnection] = \
            collections.OrderedDict()
        self._opening: dict[tuple[str, str], asyncio.Future[MCPConnection]] = {}
        self._health_task: asyncio.Future[None] | None = None
        self.stats = {"opened": 0, "evicted": 0, "reconnected": 0, "health_failures": 0}

    @classmethod
    def shared(cls, max_connections: int | None = None) -> MCPConnectionPool:
        """The process-wide pool (created on first use; ``[mcp] max_connections``
        raises its size, never lowers it)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(max_connections or 16)
                atexit.register(cls._shared.close_sync)
            elif max_connections and max_connections > cls._shared.max_connections:
                cls._shared.max_connections = max_connections
            return cls._shared

    # --- running in the pool's loop ----------------------------------------------------

    async def run(self, coro: Awaitable[T]) -> T:
        return await self._loop.run(coro)

    def run_sync(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        return self._loop.run_sync(coro, timeout)

    @staticmethod
    def key(name: str, config: MCPServerConfig) -> tuple[str, str]:
        return name, config.model_dump_json()

    def connections(self) -> list[MCPConnection]:
        return list(self._conns.values())

    def get(self, name: str, config: MCPServerConfig) -> MCPConnection | None:
        """The open connection for ``name`` with ``config``, if any (no I/O)."""
        return self._conns.get(self.key(name, config))

    async def acquire(self, name: str, config: MCPServerConfig,
                      credential: Any = None) -> MCPConnection:
        """The open connection to ``name`` (opened, or reopened when dead). Runs in the
        pool's loop."""
        if not self._loop.in_loop():
            return await self.run(self.acquire(name, config, credential))
        key = self.key(name, config)
        conn = self._conns.get(key)
        if conn is not None and conn.alive:
            self._conns.move_to_end(key)
            return conn
        if conn is not None:  # dead: drop it and open a new one
            self._conns.pop(key, None)
            await conn.close()
            self.stats["reconnected"] += 1
        pending = self._opening.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[MCPConnection] = asyncio.get_running_loop().create_future()
        self._opening[key] = fut
        try:
            await self._make_room()
            conn = MCPConnection(name, config, credential)
            await conn.open()
            self._conns[key] = conn
            self.stats["opened"] += 1
            self._ensure_health_task()
            fut.set_result(conn)
            return conn
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters get it, nobody else has to
            raise
        finally:
            self._opening.pop(key, None)

    async def _make_room(self) -> None:
        while len(self._conns) >= self.max_connections:
            idle = [k for k, c in self._conns.items() if c.in_flight == 0]
            if not idle:
                logger.warning("MCP pool: all %d connections are busy; opening one more",
                               len(self._conns))
                return
            victim = self._conns.pop(idle[0])  # OrderedDict: least recently used first
            self.stats["evicted"] += 1
            await victim.close()

    async def request(self, name: str, config: MCPServerConfig,
                      fn: Callable[[Any], Awaitable[T]], what: str, *,
                      timeout: float | None = None, retry: bool = False,
                      credential: Any = None) -> T:
        """``fn(client)`` on the connection to ``name``, from any loop. With ``retry``
        a call whose connection died is sent once more on a new connection (only for
        requests that are safe to repeat)."""
        async def go() -> T:
            conn = await self.acquire(name, config, credential)
            try:
                return await conn.request(fn, what, timeout)
            except MCPCallError as exc:
                if not (exc.connection_lost and (retry or exc.unprocessed)):
                    raise
            conn = await self.acquire(name, config, credential)
            return await conn.request(fn, what, timeout)

        return await self.run(go())

    # --- health -------------------------------------------------------------------------

    def _ensure_health_task(self) -> None:
        if self._health_task is None or self._health_task.done():
            self._health_task = asyncio.ensure_future(self._health_loop())

    async def _health_loop(self) -> None:
        while self._conns:
            intervals = [c.config.health_interval for c in self._conns.values()
                         if c.config.health_interval > 0]
            if not intervals:
                return
            await asyncio.sleep(max(1.0, min(intervals) / 2))
            await self._check(due_only=True)

    async def _check(self, *, due_only: bool) -> dict[str, bool]:
        out: dict[str, bool] = {}
        now = time.monotonic()
        for key, conn in list(self._conns.items()):
            interval = conn.config.health_interval
            if due_only and (interval <= 0 or conn.in_flight
                             or now - max(conn.last_ok, conn.last_used) < interval):
                out[conn.name] = conn.alive
                continue
            ok = conn.alive
            if ok:
                try:
                    await conn.probe()
                except Exception:  # noqa: BLE001 - any failure means unhealthy
                    ok = False
            if not ok:
                self.stats["health_failures"] += 1
                logger.info("MCP server %r failed its health check; it reconnects on "
                            "next use", conn.name)
                self._conns.pop(key, None)
                await conn.close()
            out[conn.name] = ok
        return out

    async def health_check(self) -> dict[str, bool]:
        """Check every open connection now: ``{server name: healthy}``. Unhealthy ones
        are closed (and reopened on next use)."""
        return await self.run(self._check(due_only=False))

    # --- closing --------------------------------------------------------------------------

    async def _close_all(self) -> None:
        conns = list(self._conns.values())
        self._conns.clear()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        if self._health_task is not None:
            self._health_task.cancel()

    async def aclose(self) -> None:
        """Close every connection (the pool stays usable: connections reopen)."""
        await self.run(self._close_all())

    async def close_server(self, name: str) -> None:
        """Close the connections to ``name``."""
        async def go() -> None:
            for key in [k for k in self._conns if k[0] == name]:
                conn = self._conns.pop(key)
                await conn.close()

        await self.run(go())

    def close_sync(self) -> None:
        """Close every connection from synchronous code (``atexit`` does this)."""
        if self._loop.in_loop() or not self._loop.thread.is_alive():
            return
        try:
            self.run_sync(self._close_all(), timeout=15)
        except Exception:  # noqa: BLE001 - best effort at exit
            logger.debug("closing MCP connections failed", exc_info=True)
