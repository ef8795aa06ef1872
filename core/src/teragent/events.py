"""``EventBus``: fire-and-forget signals between the loop and its observers.

Handlers may be sync or async. :meth:`EventBus.emit` never blocks the caller: async
handlers run as tasks, sync handlers run inline (they must be quick; a slow one belongs
in a thread of its own). :meth:`EventBus.emit_and_wait` waits for every handler.
A failing handler is logged and never affects other handlers or the emitter.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the bus imports asyncio when it first schedules or waits
    import asyncio

__all__ = ["EventBus", "Event", "StructuredMessage"]

logger = logging.getLogger("teragent.events")

Handler = Callable[..., Any]


@dataclass
class Event:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    timestamp: float = field(default_factory=time.time)
    #: Monotonic clock, for ordering and measuring overlap in tests.
    monotonic: float = field(default_factory=time.perf_counter)


@dataclass
class StructuredMessage:
    """A typed message event (``emit_message``)."""

    kind: str
    content: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)


class EventBus:
    """Publish/subscribe by event name.

    Args:
        history_size: How many basic events to keep for :meth:`get_event_history`.
        message_history_size: How many structured messages to keep.
    """

    def __init__(self, history_size: int = 100, message_history_size: int = 200) -> None:
        self._handlers: dict[str, list[tuple[Handler, bool]]] = {}
        self._history: deque[Event] = deque(maxlen=history_size)
        self._messages: deque[StructuredMessage] = deque(maxlen=message_history_size)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[tuple[str, BaseException]] = []

    # --- subscription -----------------------------------------------------------

    def on(self, name: str, handler: Handler) -> Callable[[], None]:
        """Subscribe ``handler`` to ``name`` (``"*"`` receives every event).

        Returns:
            A function that unsubscribes it.
        """
        self._handlers.setdefault(name, []).append((handler, False))
        return lambda: self.off(name, handler)

    def once(self, name: str, handler: Handler) -> Callable[[], None]:
        """Subscribe for the next ``name`` event only."""
        self._handlers.setdefault(name, []).append((handler, True))
        return lambda: self.off(name, handler)

    def off(self, name: str, handler: Handler) -> None:
        self._handlers[name] = [(h, o) for h, o in self._handlers.get(name, []) if h is not handler]

    async def wait_for(self, name: str, timeout: float | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Wait for the next ``name`` event; returns its ``(args, kwargs)``.

        Raises:
            asyncio.TimeoutError: if ``timeout`` passes first.
        """
        import asyncio

        future: asyncio.Future[tuple[tuple[Any, ...], dict[str, Any]]] = \
            asyncio.get_running_loop().create_future()

        def _handler(*args: Any, **kwargs: Any) -> None:
            if not future.done():
                future.set_result((args, kwargs))

        self.once(name, _handler)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.off(name, _handler)

    # --- emission ------------------------------------------------------------------

    def _take(self, name: str) -> list[tuple[Handler, bool]]:
        """Handlers for ``name`` as (handler, is_wildcard); drops ``once`` handlers."""
        out: list[tuple[Handler, bool]] = []
        for key in (name, "*"):
            entries = self._handlers.get(key)
            if not entries:
                continue
            out.extend((h, key == "*") for h, _ in entries)
            if any(o for _, o in entries):
                self._handlers[key] = [(h, o) for h, o in entries if not o]
        return out

    def _record(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._history.append(Event(name, args, kwargs))

    def _failed(self, name: str, handler: Handler, exc: BaseException) -> None:
        self.errors.append((name, exc))
        logger.warning("event handler %r for %r failed: %s: %s",
                       getattr(handler, "__qualname__", handler), name, type(exc).__name__, exc)

    def _call(self, name: str, handler: Handler, wildcard: bool, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
        try:
            if wildcard:
                return handler(name, *args, **kwargs)
            return handler(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handler errors are isolated
            self._failed(name, handler, exc)
            return None

    def _dispatch(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._record(name, args, kwargs)
        for handler, wildcard in self._take(name):
            result = self._call(name, handler, wildcard, args, kwargs)
            if inspect.isawaitable(result):
                import asyncio

                task = asyncio.ensure_future(self._guard(name, handler, result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def emit(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Fire ``name``; returns without waiting for async handlers."""
        self._dispatch(name, args, kwargs)

    def emit_nowait(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Like :meth:`emit`, callable from sync code inside a running loop."""
        self._dispatch(name, args, kwargs)

    async def _guard(self, name: str, handler: Handler, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception as exc:  # noqa: BLE001
            self._failed(name, handler, exc)

    async def emit_and_wait(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Fire ``name`` and wait until every handler has finished."""
        self._record(name, args, kwargs)
        pending = []
        for handler, wildcard in self._take(name):
            result = self._call(name, handler, wildcard, args, kwargs)
            if inspect.isawaitable(result):
                pending.append(self._guard(name, handler, result))
        if pending:
            import asyncio

            await asyncio.gather(*pending)

    async def emit_message(self, kind: str, content: Any, **metadata: Any) -> StructuredMessage:
        """Emit a structured message (kept in its own history) as event ``message``."""
        msg = StructuredMessage(kind, content, metadata)
        self._messages.append(msg)
        await self.emit("message", msg)
        return msg

    async def drain(self) -> None:
        """Wait for the async handlers started by :meth:`emit` so far."""
        while self._tasks:
            import asyncio

            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- queries ---------------------------------------------------------------------

    def get_event_names(self) -> list[str]:
        return sorted(n for n, hs in self._handlers.items() if hs)

    def get_event_history(self, limit: int = 50, name: str | None = None) -> list[Event]:
        events = [e for e in self._history if name is None or e.name == name]
        return events[-limit:]

    def get_message_history(self, limit: int = 50) -> list[StructuredMessage]:
        return list(self._messages)[-limit:]

    def clear(self) -> None:
        self._handlers.clear()
        self._history.clear()
        self._messages.clear()
