"""The service's state: settings, the conversation store, the transcripts
(:class:`teragent_sessions.SessionPersistence`), the per-session lane queue
(:class:`teragent_sessions.lanes.LaneQueue`) and the conversations in memory.

Every conversation's agent comes from :func:`teragent.build_agent` (the composition
root): the conversation's workspace, the same guard chain, audit log and reliability as
every other entry point, and the conversation's approval gate last in the chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from teragent.errors import UserError

from teragent_service.presets import PRESETS, preset_prompt
from teragent_service.runner import ConversationRuntime
from teragent_service.settings import ServiceSettings
from teragent_service.store import ConversationMeta, ConversationStore

__all__ = ["AgentService"]

logger = logging.getLogger("teragent.service")


def _sessions() -> Any:
    try:
        import teragent_sessions
    except ImportError as exc:  # pragma: no cover - a declared dependency
        from teragent.errors import MissingPluginError

        raise MissingPluginError("The agent service's transcripts and lanes",
                                 "teragent-sessions") from exc
    return teragent_sessions


def _user_dir(user: str) -> str:
    """A directory name for ``user``: readable when the name is plain, never a path."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", user):
        return user
    return "u-" + hashlib.sha256(user.encode()).hexdigest()[:24]


class _OffLoopTranscript:
    """The transcript store as a conversation's agent loop sees it.

    ``save_message`` is awaited in a worker thread: each save is a committed SQLite
    transaction, and made on the event loop every conversation would wait for every
    other one's commits. It also shows the conversation the calls that never ran: a
    tool result saved for a call the bus never announced (an unknown tool, arguments
    that failed validation) is published as ``tool_call`` + ``tool_result``.
    """

    def __init__(self, inner: Any, rt: ConversationRuntime) -> None:
        self.inner = inner
        self.rt = rt
        self._calls: dict[str, tuple[str, Any]] = {}

    async def save_message(self, session_id: str, message: dict[str, Any]) -> int:
        self._watch(message)
        return int(await asyncio.to_thread(self.inner.save_message, session_id, message))

    def _watch(self, message: dict[str, Any]) -> None:
        import json

        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {"raw": fn.get("arguments")}
                self._calls[str(call.get("id"))] = (str(fn.get("name")), args)
        elif message.get("role") == "tool":
            cid = str(message.get("tool_call_id"))
            name, args = self._calls.pop(cid, ("", {}))
            bridge = self.rt.bridge
            if bridge is not None and cid not in bridge.announced:
                self.rt.log.publish("tool_call", tool=name, id=cid, input=args)
                self.rt.log.publish("tool_result", tool=name, id=cid,
                                    result=str(message.get("content") or "")[:4000],
                                    success=False, denied=False)


class AgentService:
    """One running service (see the module docstring)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        settings.workspace_root.mkdir(parents=True, exist_ok=True)
        self.store = ConversationStore(settings.database)
        sessions = _sessions()
        from teragent_sessions.lanes import LaneQueue

        self.persistence = sessions.SessionPersistence(db_path=settings.database)
        self.lanes = LaneQueue()
        self._continuable = sessions.continuable
        self.runtimes: dict[str, ConversationRuntime] = {}
        self._lock = asyncio.Lock()

    # --- conversations -------------------------------------------------------------------

    def continuable(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self._continuable(list(messages)))

    def workspace_for(self, meta: ConversationMeta) -> Path:
        return self.settings.workspace_root / _user_dir(meta.owner) / meta.id

    def user_root(self, user: str) -> Path:
        return self.settings.workspace_root / _user_dir(user)

    def create(self, user: str, *, preset: str = "default", enable_teams: bool = False,
               enable_tracing: bool = False, enable_approval: bool = False,
               title: str = "", tool_policy: dict[str, Any] | None = None
               ) -> ConversationMeta:
        from teragent_service.policy import ToolPolicy

        if preset not in PRESETS:
            raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)} "
                            "(GET /api/presets lists them)")
        policy = ToolPolicy(**(tool_policy or {}))  # refuses a bad profile or limit
        meta = self.store.create(user, title=title, preset=preset, enable_teams=enable_teams,
                                 enable_tracing=enable_tracing,
                                 enable_approval=enable_approval,
                                 tool_policy=policy.as_dict())
        sid = self.persistence.create(title=title or "conversation", intent="service")
        meta.session_id = str(getattr(sid, "id", sid))
        self.store.set_session(meta.id, meta.session_id)
        self.workspace_for(meta).mkdir(parents=True, exist_ok=True)
        return meta

    def get(self, user: str, cid: str) -> ConversationMeta | None:
        return self.store.get(user, cid)

    async def runtime(self, meta: ConversationMeta) -> ConversationRuntime:
        async with self._lock:
            rt = self.runtimes.get(meta.id)
            if rt is None:
                history: list[dict[str, Any]] = []
                if meta.session_id:
                    history = self.continuable(self.persistence.restore(meta.session_id))
                ws = self.workspace_for(meta)
                ws.mkdir(parents=True, exist_ok=True)
                rt = ConversationRuntime(self, meta, ws, history)
                self.runtimes[meta.id] = rt
                await self._evict()
            else:
                self.runtimes[meta.id] = self.runtimes.pop(meta.id)  # most recent last
            return rt

    async def _evict(self) -> None:
        """Close the least recently used idle conversations past the limit."""
        excess = len(self.runtimes) - self.settings.max_active_conversations
        if excess <= 0:
            return
        for cid in list(self.runtimes)[:-1]:  # never the one just opened
            if excess <= 0:
                break
            rt = self.runtimes[cid]
            if rt.idle():
                del self.runtimes[cid]
                excess -= 1
                try:
                    await rt.close()
                except Exception as exc:  # noqa: BLE001 - the new conversation matters more
                    logger.warning("closing idle conversation %s failed: %s: %s", cid,
                                   type(exc).__name__, exc)

    def transcript(self, meta: ConversationMeta) -> list[dict[str, Any]]:
        if not meta.session_id:
            return []
        return list(self.persistence.restore(meta.session_id))

    async def delete(self, user: str, cid: str) -> bool:
        meta = self.store.get(user, cid)
        if meta is None:
            return False
        rt = self.runtimes.pop(cid, None)
        if rt is not None:
            await rt.close()
        if meta.session_id:
            self.persistence.delete(meta.session_id)
        self.store.delete(user, cid)
        ws = self.workspace_for(meta)
        if ws.is_dir() and ws.resolve().is_relative_to(self.settings.workspace_root):
            shutil.rmtree(ws, ignore_errors=True)
        return True

    # --- agents --------------------------------------------------------------------------

    def skill_library(self, user: str) -> Any:
        from teragent_service.skills import SkillLibrary

        folders = []
        if self.settings.skills_dir is not None:
            folders.append(("shared", Path(self.settings.skills_dir)))
        folders.append(("user", self.user_skills_dir(user)))
        return SkillLibrary(folders)

    def user_skills_dir(self, user: str) -> Path:
        # Conversation ids are hex, so "_skills" never collides with a workspace.
        return self.user_root(user) / "_skills"

    def tool_info(self) -> list[dict[str, Any]]:
        """Name, description, safety and parameters of every tool a conversation gets."""
        from teragent.tools.registry import ToolRegistry

        from teragent_service.toolkit import SERVICE_TOOL_INFO

        reg = ToolRegistry.from_plugins(workspace=str(self.settings.workspace_root),
                                        config=dict(self.settings.config))
        out = [{"name": t.name, "description": t.description,
                "safety": getattr(t.safety, "value", str(t.safety)),
                "parameters": t.parameters_schema} for t in reg.list_tools()]
        return out + SERVICE_TOOL_INFO()

    def tool_registry(self, rt: ConversationRuntime, *, depth: int = 0) -> Any:
        """The tools of a conversation's agent (the plugins' tools plus the service's)."""
        from teragent.tools.registry import ToolRegistry

        from teragent_service.toolkit import service_tools

        tools = ToolRegistry.from_plugins(workspace=str(rt.workspace),
                                          config=dict(self.settings.config))
        for tool in service_tools(self, rt, tools.find("bash"), depth=depth):
            tools.register(tool, replace=True)
        return tools.filtered(rt.policy_guard.policy.choose(tools.list_tool_names()))

    def _agent(self, rt: ConversationRuntime, *, provider: Any, tools: Any, prompt: str,
               approval: Any, max_steps: int, **extra: Any) -> Any:
        from teragent.compose import build_agent
        from teragent.events import EventBus

        settings = self.settings
        return build_agent(
            dict(settings.config), workspace=rt.workspace, provider=provider,
            model=settings.model if provider is None else None, tools=tools,
            bus=EventBus(), approval_gate=approval, allow_writes=True,
            allow_shell=settings.allow_shell or rt.meta.enable_approval,
            system_prompt=prompt, max_steps=max_steps, **extra)

    # The conversation's tool policy guard is in the lead's chain; subagents and
    # teammates run nested in it (their calls count toward the turn's limit).

    async def build_conversation_agent(self, rt: ConversationRuntime) -> Any:
        from teragent_service.tracing import TracingProvider

        meta = rt.meta
        provider = self._provider_for(meta, None)
        agent = self._agent(rt, provider=provider, tools=self.tool_registry(rt),
                            prompt=preset_prompt(meta.preset), approval=rt.approver,
                            guards=[rt.policy_guard],
                            max_steps=self.settings.max_steps,
                            session=_OffLoopTranscript(self.persistence, rt),
                            session_id=meta.session_id)
        if meta.enable_tracing:
            agent.model = TracingProvider(agent.model, rt.log, calls=rt.trace_calls)
        return agent

    def _provider_for(self, meta: ConversationMeta, agent: str | None) -> Any:
        factory = self.settings.provider_factory
        if factory is None:
            return None
        import inspect

        try:
            takes_agent = "agent" in inspect.signature(factory).parameters
        except (TypeError, ValueError):
            takes_agent = False
        if takes_agent:
            return factory(meta, agent=agent)
        return factory(meta) if agent is None else None  # teammates share the lead's

    def build_teammate(self, rt: ConversationRuntime, name: str, role: str) -> Any:
        """A teammate's agent: same workspace, task graph and composition root; its own
        model from the provider factory when it takes ``agent=``, else the lead's."""
        from teragent.tools.registry import ToolRegistry

        from teragent_service.team import TEAMMATE_PROMPT, teammate_tools
        from teragent_service.tasks import task_tools

        provider = self._provider_for(rt.meta, name)
        if provider is None:
            provider = rt.agent.model  # the lead's (traced already when tracing is on)
        elif rt.meta.enable_tracing:
            from teragent_service.tracing import TracingProvider

            provider = TracingProvider(provider, rt.log, agent=name, calls=rt.trace_calls)
        tools = ToolRegistry.from_plugins(workspace=str(rt.workspace),
                                          config=dict(self.settings.config))
        for tool in [*task_tools(rt.extras.tasks), *teammate_tools(rt.extras.team, name)]:
            tools.register(tool, replace=True)
        tools = tools.filtered(rt.policy_guard.policy.choose(tools.list_tool_names()))
        safe = lambda text: text.replace("{", "{{").replace("}", "}}")  # noqa: E731
        prompt = TEAMMATE_PROMPT.replace("{name}", safe(name)).replace("{role}", safe(role))
        return self._agent(rt, provider=provider, tools=tools, prompt=prompt, approval=None,
                           max_steps=self.settings.subagent_max_steps)

    def build_subagent(self, rt: ConversationRuntime, depth: int) -> Any:
        """A fresh agent for the ``task`` tool: same workspace, model and composition
        root; no approval gate of its own (the conversation's applies: the subagent runs
        inside the conversation's run), no transcript."""
        from teragent_service.subagent import SUBAGENT_PROMPT

        return self._agent(rt, provider=rt.agent.model,
                           tools=self.tool_registry(rt, depth=depth), prompt=SUBAGENT_PROMPT,
                           approval=None, max_steps=self.settings.subagent_max_steps)

    async def aclose(self) -> None:
        for rt in list(self.runtimes.values()):
            try:
                await rt.close()
            except Exception:  # noqa: BLE001 - closing the rest matters more
                pass
        self.runtimes.clear()
        await self.lanes.close()
        self.persistence.close()
        self.store.close()
