"""``TAPResponse.long_horizon_status`` on every model call of a long task's phases.

While :meth:`LongHorizonTaskManager.execute_long_task` runs, the manager is current
(a context variable, so it follows every task and thread the run starts). An agent the
composition root builds meanwhile (each phase's, an ``agent_factory``'s built with
``build_agent``) gets, through the kernel's ``teragent_observe_agent`` hook, a
:class:`StatusRecorder` among its run's tracers: the provider hands it every response
of the run, and it writes the manager's status on the response before the agent loop
sees it (the ``model_end`` event; tracers called before it, such as the provider's own,
do not). No manager current: the hook answers ``None`` and the build pays nothing.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["StatusRecorder", "current_manager", "running_task"]

_CURRENT: ContextVar[Any] = ContextVar("teragent_long_horizon_task", default=None)


def current_manager() -> Any:
    """The :class:`LongHorizonTaskManager` whose task this code runs in, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def running_task(manager: Any) -> Iterator[Any]:
    """Make ``manager`` current for the block (its phases' agents report its status)."""
    token = _CURRENT.set(manager)
    try:
        yield manager
    finally:
        _CURRENT.reset(token)


class StatusRecorder:
    """A tracer (the ``ModelProvider.set_tracer`` protocol) whose record of a call is
    the task's status, written on the response as ``long_horizon_status``."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def record_request(self, request: Any, **_: Any) -> None:
        return None

    async def record_response(self, response: Any, **_: Any) -> None:
        if hasattr(response, "long_horizon_status"):
            response.long_horizon_status = self.manager.long_horizon_status
