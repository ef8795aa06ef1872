"""``AgentHooks``: lifecycle callbacks for agents in an orchestration.

Subclass and override what you need; every method is an async no-op by default. Hooks
observe: an exception raised by a hook is logged and the run goes on (to stop a run,
use a guardrail or the :class:`~teragent.orchestration.CancellationToken`).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

__all__ = ["AgentHooks", "call_hooks"]

logger = logging.getLogger("teragent.orchestration")


class AgentHooks:
    """Lifecycle hooks; ``ctx`` is the run's :class:`~teragent.orchestration.RunContext`."""

    async def on_start(self, ctx: Any, agent: Any) -> None:
        """The agent starts a turn."""

    async def on_end(self, ctx: Any, agent: Any, output: str) -> None:
        """The agent finished a turn with ``output``."""

    async def on_handoff(self, ctx: Any, from_agent: Any, to_agent: Any) -> None:
        """Control moves from ``from_agent`` to ``to_agent``."""

    async def on_tool_start(self, ctx: Any, agent: Any, tool_name: str,
                            arguments: dict[str, Any]) -> None:
        """A tool call passed every guard and starts running."""

    async def on_tool_end(self, ctx: Any, agent: Any, tool_name: str, success: bool,
                          output: str) -> None:
        """A tool call finished."""

    async def on_model_start(self, ctx: Any, agent: Any) -> None:
        """A model call starts."""

    async def on_model_end(self, ctx: Any, agent: Any, response: Any) -> None:
        """A model call returned (``response`` is a :class:`~teragent.TAPResponse`)."""


async def call_hooks(hooks: Any, method: str, *args: Any) -> None:
    """Call ``method`` on each of ``hooks`` (an AgentHooks or a list); never raises."""
    for hook in hooks if isinstance(hooks, (list, tuple)) else [hooks]:
        if hook is None:
            continue
        fn = getattr(hook, method, None)
        if fn is None:
            continue
        try:
            out = fn(*args)
            if inspect.isawaitable(out):
                await out
        except Exception as exc:  # noqa: BLE001 - observers never break a run
            logger.warning("%s.%s failed: %s: %s", type(hook).__name__, method,
                           type(exc).__name__, exc)
