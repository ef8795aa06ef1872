"""Per-session lanes: runs of one session one at a time, sessions side by side.

Two runs of one conversation must not interleave (both would append to the same
history and answer from half of it). :class:`LaneQueue` gives each session key a lane:
its runs execute strictly one at a time, highest ``priority`` first and, within a
priority, in submission order; runs of different keys run concurrently (at most
``max_concurrent`` at once when given)::

    lanes = LaneQueue()
    ticket = await lanes.enqueue("chat-42", lambda: agent.run("hi"))   # returns at once
    result = await lanes.wait_for_run(ticket.run_id, timeout=30)
    await lanes.close()

:class:`LaneBackend` is the seam: the service programs against it, and a distributed
backend (runs claimed from a shared database, lanes as advisory locks) implements the
same five methods and runs :mod:`teragent_sessions.contract`'s lane suite.

Errors: ``wait_for_run`` raises the run's own exception, :class:`~teragent.errors.
RunCancelled` for a cancelled run, ``TimeoutError`` when ``timeout`` passes (the run
goes on), and :class:`UnknownRunError` (a ``LookupError``) for an id it never issued or
has forgotten (``keep_finished``).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal, Protocol, runtime_checkable

from teragent.errors import RunCancelled, UserError

__all__ = ["LaneQueue", "LaneBackend", "RunTicket", "RunStatus", "UnknownRunError",
           "LaneQueueClosed"]

RunStatus = Literal["queued", "running", "done", "failed", "cancelled"]
RunFactory = Callable[[], Awaitable[Any]]


class UnknownRunError(UserError, LookupError):
    """No run has this id (never issued, or forgotten after ``keep_finished``)."""


class LaneQueueClosed(UserError, RuntimeError):
    """``enqueue`` after ``close()``."""


@dataclass(frozen=True)
class RunTicket:
    """What :meth:`LaneBackend.enqueue` returns at once."""

    run_id: str
    session_key: str
    #: Unix time the run was accepted.
    accepted_at: float
    priority: int = 0


@runtime_checkable
class LaneBackend(Protocol):
    """The lane seam (in-process :class:`LaneQueue`; a distributed backend later)."""

    async def enqueue(self, session_key: str, run_factory: RunFactory, *,
                      priority: int = 0) -> RunTicket:
        """Accept a run and return its ticket at once. ``run_factory()`` is called
        when the run's turn comes and must return an awaitable."""
        ...

    async def wait_for_run(self, run_id: str, timeout: float | None = None) -> Any:
        """The run's result; raises its exception, ``RunCancelled``, or
        ``TimeoutError`` after ``timeout`` seconds (the run goes on)."""
        ...

    def cancel(self, run_id: str) -> bool:
        """Cancel a queued or running run; ``False`` if it had finished already."""
        ...

    def status(self, run_id: str) -> RunStatus:
        """``"queued"``, ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``."""
        ...

    async def close(self) -> None:
        """Stop: cancel queued and running runs and wait for the lanes to end."""
        ...


@dataclass
class _Run:
    ticket: RunTicket
    factory: RunFactory | None
    future: asyncio.Future[Any]
    state: RunStatus = "queued"
    task: asyncio.Task[Any] | None = None
    cancel_requested: bool = False


@dataclass
class _Lane:
    key: str
    heap: list[tuple[int, int, _Run]] = field(default_factory=list)
    worker: asyncio.Task[None] | None = None
    current: _Run | None = None


def _retrieved(fut: asyncio.Future[Any]) -> None:
    # Mark the exception as retrieved: nobody waiting for a failed run is not an error.
    if not fut.cancelled():
        fut.exception()


class LaneQueue:
    """In-process :class:`LaneBackend` on asyncio (use it from one event loop).

    Args:
        max_concurrent: At most this many runs at once over all lanes (``None``: no
            limit beyond one per lane).
        keep_finished: How many finished runs stay queryable (status, result).
    """

    def __init__(self, *, max_concurrent: int | None = None,
                 keep_finished: int = 10_000) -> None:
        if max_concurrent is not None and max_concurrent < 1:
            raise UserError(f"max_concurrent must be at least 1 (or None), "
                            f"not {max_concurrent}.")
        self._limit = asyncio.Semaphore(max_concurrent) if max_concurrent else None
        self._keep = max(1, int(keep_finished))
        self._runs: dict[str, _Run] = {}
        self._lanes: dict[str, _Lane] = {}
        self._finished: deque[str] = deque()
        self._order = itertools.count()
        self._closed = False

    # --- the seam ---------------------------------------------------------------

    async def enqueue(self, session_key: str, run_factory: RunFactory, *,
                      priority: int = 0) -> RunTicket:
        if self._closed:
            raise LaneQueueClosed("this LaneQueue is closed; create a new one.")
        if not callable(run_factory):
            raise UserError("run_factory must be a zero-argument callable returning an "
                            f"awaitable (e.g. lambda: agent.run(task)), not "
                            f"{type(run_factory).__name__}.")
        ticket = RunTicket(run_id=uuid.uuid4().hex, session_key=str(session_key),
                           accepted_at=time.time(), priority=int(priority))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieved)
        run = _Run(ticket, run_factory, fut)
        self._runs[ticket.run_id] = run
        lane = self._lanes.get(ticket.session_key)
        if lane is None:
            lane = self._lanes[ticket.session_key] = _Lane(ticket.session_key)
        heapq.heappush(lane.heap, (-ticket.priority, next(self._order), run))
        if lane.worker is None:
            lane.worker = asyncio.ensure_future(self._drain(lane))
        return ticket

    async def wait_for_run(self, run_id: str, timeout: float | None = None) -> Any:
        run = self._get(run_id)
        try:
            return await asyncio.wait_for(asyncio.shield(run.future), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"run {run_id} did not finish within {timeout} s "
                               f"(it is {run.state}; it goes on)") from None

    def cancel(self, run_id: str) -> bool:
        run = self._runs.get(run_id)
        if run is None or run.state in ("done", "failed", "cancelled"):
            return False
        run.cancel_requested = True
        if run.state == "queued":
            self._finish(run, "cancelled", exc=RunCancelled(
                f"run {run_id} was cancelled before it started",
                state={"run_id": run_id}))
        elif run.task is not None:
            run.task.cancel()
        return True

    def status(self, run_id: str) -> RunStatus:
        return self._get(run_id).state

    async def close(self) -> None:
        self._closed = True
        for run in list(self._runs.values()):
            if run.state in ("queued", "running"):
                self.cancel(run.ticket.run_id)
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    # --- introspection ----------------------------------------------------------

    def pending(self, session_key: str) -> int:
        """Runs of ``session_key`` queued or running."""
        lane = self._lanes.get(session_key)
        if lane is None:
            return 0
        running = 1 if lane.current is not None else 0
        return running + sum(1 for _, _, r in lane.heap if r.state == "queued")

    def ticket(self, run_id: str) -> RunTicket:
        return self._get(run_id).ticket

    # --- inside -----------------------------------------------------------------

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(f"no run {run_id!r} in this lane queue (never enqueued, "
                                  f"or one of more than {self._keep} finished runs "
                                  "already forgotten).")
        return run

    def _finish(self, run: _Run, state: RunStatus, *, result: Any = None,
                exc: BaseException | None = None) -> None:
        run.state = state
        run.factory = None  # drop the closure (it may hold a whole agent)
        if not run.future.done():
            if exc is not None:
                run.future.set_exception(exc)
            else:
                run.future.set_result(result)
        self._finished.append(run.ticket.run_id)
        while len(self._finished) > self._keep:
            self._runs.pop(self._finished.popleft(), None)

    async def _drain(self, lane: _Lane) -> None:
        try:
            while lane.heap:
                _, _, run = heapq.heappop(lane.heap)
                if run.state != "queued":
                    continue  # cancelled while queued
                if self._limit is not None:
                    await self._limit.acquire()
                try:
                    if run.state != "queued":
                        continue
                    lane.current = run
                    await self._execute(run)
                finally:
                    lane.current = None
                    if self._limit is not None:
                        self._limit.release()
        finally:
            lane.worker = None
            if lane.heap and not self._closed:
                lane.worker = asyncio.ensure_future(self._drain(lane))
            elif self._lanes.get(lane.key) is lane and not lane.heap:
                del self._lanes[lane.key]

    async def _execute(self, run: _Run) -> None:
        factory = run.factory
        assert factory is not None
        run.state = "running"

        async def invoke() -> Any:
            awaitable = factory()
            if not inspect.isawaitable(awaitable):
                raise TypeError(f"run_factory returned {type(awaitable).__name__}, not an "
                                "awaitable; pass e.g. lambda: agent.run(task)")
            return await awaitable

        run.task = asyncio.ensure_future(invoke())
        # asyncio.wait does not raise when the run is cancelled, only when this worker
        # is (close()): then the run is cancelled too.
        try:
            await asyncio.wait({run.task})
        except asyncio.CancelledError:
            run.task.cancel()
            await asyncio.wait({run.task})
            self._settle(run)
            raise
        self._settle(run)

    def _settle(self, run: _Run) -> None:
        task = run.task
        assert task is not None
        run.task = None
        if task.cancelled():
            self._finish(run, "cancelled", exc=RunCancelled(
                f"run {run.ticket.run_id} was cancelled while running",
                state={"run_id": run.ticket.run_id}))
        elif task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, RunCancelled) and run.cancel_requested:
                self._finish(run, "cancelled", exc=exc)
            else:
                self._finish(run, "failed", exc=exc)
        else:
            self._finish(run, "done", result=task.result())
