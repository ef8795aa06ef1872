"""The service's own tools for a conversation, added to the plugins' tools of every
conversation agent: skills (``list_skills``, ``read_skill``), the task graph
(``task_create/get/update/list``), background commands (``background_run``,
``check_background``), subagents (``task``), session tools (``sessions_list``,
``sessions_history``, ``sessions_send``, ``sessions_spawn``) and, with
``enable_teams``, teammates.

:class:`ConversationExtras` holds their per-conversation state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teragent_service.background import BackgroundManager, BackgroundRunTool, \
    CheckBackgroundTool
from teragent_service.skills import ListSkillsTool, ReadSkillTool, SkillLibrary
from teragent_service.tasks import TaskGraph, task_tools

if TYPE_CHECKING:
    from teragent_service.runner import ConversationRuntime
    from teragent_service.service import AgentService

__all__ = ["ConversationExtras", "service_tools", "SERVICE_TOOL_INFO"]


def _info(cls: Any, name: str | None = None) -> dict[str, Any]:
    return {"name": name or cls.name, "description": cls.description,
            "safety": cls._safety.value, "parameters": cls.parameters_schema}


def _tool_info() -> list[dict[str, Any]]:
    from teragent_service.subagent import SubagentTool
    from teragent_service.tasks import TaskCreateTool, TaskGetTool, TaskListTool, \
        TaskUpdateTool

    from teragent_service.session_tools import SessionsHistoryTool, SessionsListTool, \
        SessionsSendTool, SessionsSpawnTool

    return [_info(c) for c in (ListSkillsTool, ReadSkillTool, TaskCreateTool, TaskGetTool,
                               TaskUpdateTool, TaskListTool, BackgroundRunTool,
                               CheckBackgroundTool, SessionsListTool, SessionsHistoryTool,
                               SessionsSendTool, SessionsSpawnTool)] \
        + [_info(SubagentTool, "task")]


SERVICE_TOOL_INFO = _tool_info


class ConversationExtras:
    """Per-conversation state of the service tools."""

    def __init__(self, service: AgentService, rt: ConversationRuntime, shell: Any) -> None:
        self.skills = service.skill_library(rt.meta.owner)
        self.tasks = TaskGraph(rt.workspace / ".tasks",
                               on_change=lambda tasks: rt.log.publish("task_update",
                                                                      tasks=tasks))
        self.background = BackgroundManager(
            shell, timeout=service.settings.background_timeout,
            on_done=lambda note: rt.log.publish("background_result",
                                                notifications=[note])) \
            if shell is not None else None
        self.team: Any = None

    async def aclose(self) -> None:
        if self.background is not None:
            await self.background.aclose()
        if self.team is not None:
            await self.team.aclose()


def service_tools(service: AgentService, rt: ConversationRuntime, shell: Any,
                  *, depth: int = 0) -> list[Any]:
    """The service tools of ``rt``'s agent (``depth`` > 0: a subagent's)."""
    from teragent_service.subagent import MAX_DEPTH, SubagentTool

    if rt.extras is None:
        rt.extras = ConversationExtras(service, rt, shell)
    extras: ConversationExtras = rt.extras
    tools: list[Any] = [ListSkillsTool(extras.skills), ReadSkillTool(extras.skills),
                        *task_tools(extras.tasks)]
    if extras.background is not None and depth == 0:
        tools += [BackgroundRunTool(extras.background), CheckBackgroundTool(extras.background)]
    if depth < MAX_DEPTH:
        tools.append(SubagentTool(lambda d: service.build_subagent(rt, d), rt.log))
    if depth == 0:
        from teragent_service.session_tools import session_tools

        tools += session_tools(service, rt)
    if depth == 0 and rt.meta.enable_teams:
        from teragent_service.team import team_tools

        tools += team_tools(service, rt)
    return tools
