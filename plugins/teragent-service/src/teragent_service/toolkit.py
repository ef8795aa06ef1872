"""The service's own tools for a conversation (skills, the task graph, background
commands), added to the plugins' tools of every conversation agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teragent_service.runner import ConversationRuntime
    from teragent_service.service import AgentService

__all__ = ["service_tools"]


def service_tools(service: AgentService, rt: ConversationRuntime | None) -> list[Any]:
    return []
