"""Session tools (004): an agent talks to the user's other conversations.

``sessions_list`` (the user's conversations), ``sessions_history`` (another
conversation's transcript), ``sessions_send`` (a message that runs as a turn in the
other conversation, through its own lane, agent and guards; optionally waiting for the
answer) and ``sessions_spawn`` (a new conversation started on a task). An agent only
ever sees conversations of the user who owns its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from typing import TYPE_CHECKING, Any, ClassVar

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ToolResult

if TYPE_CHECKING:
    from teragent_service.runner import ConversationRuntime
    from teragent_service.service import AgentService

__all__ = ["session_tools"]

_S = {"type": "string"}


class _SessionTool(BaseTool):
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, service: AgentService, rt: ConversationRuntime) -> None:
        self.service = service
        self.rt = rt

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        try:
            return ToolResult(success=True, data=await self._run(params), safety=self.safety)
        except (LookupError, ValueError, TimeoutError) as exc:
            return ToolResult(success=False, error=str(exc), safety=self.safety)

    async def _run(self, params: dict[str, Any]) -> str:
        raise NotImplementedError

    @staticmethod
    async def _submit(other: Any, content: str) -> str:
        """Queue a turn in another conversation from a fresh context: its lane and agent
        must not inherit this run's runtime (guards, approval gate, events)."""
        task = asyncio.create_task(other.submit(content), context=contextvars.Context())
        return str(await task)

    def _other(self, cid: str) -> Any:
        if cid == self.rt.meta.id:
            raise ValueError("that is this conversation; name another one (sessions_list).")
        meta = self.service.get(self.rt.meta.owner, cid)
        if meta is None:
            raise LookupError(f"no conversation {cid!r}; sessions_list shows yours.")
        return meta


class SessionsListTool(_SessionTool):
    name: ClassVar[str] = "sessions_list"
    description: ClassVar[str] = "List the user's other conversations (id, title, status)."
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {}, "additionalProperties": False}
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY

    async def _run(self, params: dict[str, Any]) -> str:
        rows = []
        for meta in self.service.store.list(self.rt.meta.owner):
            if meta.id == self.rt.meta.id:
                continue
            rt = self.service.runtimes.get(meta.id)
            state = "running" if rt is not None and rt.running else "idle"
            rows.append(f"{meta.id} [{state}] {meta.title or '(untitled)'}")
        return "\n".join(rows) or "No other conversations."


class SessionsHistoryTool(_SessionTool):
    name: ClassVar[str] = "sessions_history"
    description: ClassVar[str] = "Read another conversation's last messages."
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {"conversation_id": _S,
                                         "limit": {"type": "integer", "minimum": 1}},
        "required": ["conversation_id"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("conversation_id", "limit")
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY

    async def _run(self, params: dict[str, Any]) -> str:
        meta = self._other(params["conversation_id"])
        messages = self.service.transcript(meta)[-int(params.get("limit") or 20):]
        return "\n".join(f"{m.get('role')}: {str(m.get('content') or '')[:1000]}"
                         + (f" [tool calls: {', '.join(c['function']['name'] for c in m['tool_calls'])}]"
                            if m.get("tool_calls") else "")
                         for m in messages) or "(no messages)"


class SessionsSendTool(_SessionTool):
    name: ClassVar[str] = "sessions_send"
    description: ClassVar[str] = (
        "Send a message to another conversation; it runs there as a turn of that "
        "conversation's agent. With wait=true (default) you get its answer.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {
            "conversation_id": _S, "content": _S, "wait": {"type": "boolean"},
            "timeout": {"type": "number", "minimum": 1, "maximum": 600}},
        "required": ["conversation_id", "content"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("conversation_id", "content", "wait", "timeout")
    _safety: ClassVar[ToolSafety] = ToolSafety.SAFE_WRITE  # it starts a run elsewhere

    async def _run(self, params: dict[str, Any]) -> str:
        meta = self._other(params["conversation_id"])
        other = await self.service.runtime(meta)
        run_id = await self._submit(other, f"[message from conversation {self.rt.meta.id}]"
                                           f"\n{params['content']}")
        if params.get("wait", True) is False:
            return f"Queued as run {run_id} in {meta.id}."
        outcome = await self.service.lanes.wait_for_run(
            run_id, timeout=float(params.get("timeout") or 120))
        return json.dumps({"conversation_id": meta.id, "stop_reason": outcome["stop_reason"],
                           "answer": outcome.get("final_text", "")})


class SessionsSpawnTool(_SessionTool):
    name: ClassVar[str] = "sessions_spawn"
    description: ClassVar[str] = ("Start a new conversation of the user on a task (it runs "
                                  "on its own); returns its id.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {"task": _S, "preset": _S, "title": _S},
        "required": ["task"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("task", "preset", "title")
    _safety: ClassVar[ToolSafety] = ToolSafety.SAFE_WRITE

    async def _run(self, params: dict[str, Any]) -> str:
        from teragent.errors import UserError

        try:
            meta = self.service.create(self.rt.meta.owner,
                                       preset=params.get("preset") or self.rt.meta.preset,
                                       title=params.get("title") or "",
                                       tool_policy=self.rt.meta.tool_policy)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        other = await self.service.runtime(meta)
        run_id = await self._submit(other, params["task"])
        return f"Started conversation {meta.id} (run {run_id})."


def session_tools(service: AgentService, rt: ConversationRuntime) -> list[BaseTool]:
    return [SessionsListTool(service, rt), SessionsHistoryTool(service, rt),
            SessionsSendTool(service, rt), SessionsSpawnTool(service, rt)]
