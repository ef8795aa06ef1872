"""``Pattern``: the interface of an orchestration pattern (a plugin component).

A pattern registers through the ``teragent_register_patterns`` hook under the name
users pass as the mode::

    @hookimpl
    def teragent_register_patterns(register):
        register("round_robin", "my_plugin.patterns:RoundRobinPattern")

    Orchestrator(agents=[...], mode="round_robin")

Its :meth:`Pattern.run` receives the :class:`~teragent.orchestration.RunContext`
and the task, decides which agents run in which order, runs each turn with
``await ctx.run_agent(agent, input, step=...)`` (never a model or a tool directly)
and returns the final output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Pattern"]


class Pattern(ABC):
    """Base class of orchestration patterns."""

    name: str = ""

    @abstractmethod
    async def run(self, ctx: Any, task: str) -> str:
        """Run the agents of ``ctx`` on ``task``; return the final output."""
