"""One conversation at run time: its agent (from the composition root), its event log,
its approval gate, and its turns, which run through the service's per-session lane
queue (one turn at a time per conversation, concurrent across conversations).

A message sent while a turn runs is queued behind it (``mode: "queue"``, the default)
or interrupts it (``interrupt`` / ``mode: "interrupt"``): the running turn is cancelled,
tool calls it left without a result are dropped from the history
(:func:`teragent_sessions.continuable`), ``interrupted`` is published, and the new
input runs next, ahead of anything queued.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teragent.errors import RunCancelled

from teragent_service.approvals import WebSocketApprover
from teragent_service.events import BusBridge, EventLog
from teragent_service.files import WorkspaceFiles
from teragent_service.store import ConversationMeta

if TYPE_CHECKING:
    from teragent_service.service import AgentService

__all__ = ["ConversationRuntime"]

logger = logging.getLogger("teragent.service")


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _add(total: dict[str, int], usage: dict[str, Any] | None) -> None:
    for key in ("prompt_tokens", "completion_tokens"):
        total[key] = total.get(key, 0) + int((usage or {}).get(key, 0) or 0)
    total["total_tokens"] = total.get("prompt_tokens", 0) + total.get("completion_tokens", 0)


class ConversationRuntime:
    """What the service keeps in memory for one conversation (see the module docstring)."""

    def __init__(self, service: AgentService, meta: ConversationMeta, workspace: Path,
                 history: list[dict[str, Any]]) -> None:
        self.service = service
        self.meta = meta
        self.workspace = workspace
        settings = service.settings
        self.log = EventLog(meta.id, settings.event_buffer)
        self.files = WorkspaceFiles(workspace, max_read_bytes=settings.max_read_bytes,
                                    max_upload_bytes=settings.max_upload_bytes)
        self.approver = WebSocketApprover(self.log, timeout=settings.approval_timeout) \
            if meta.enable_approval else None
        self.history = history
        from teragent_service.policy import ToolPolicy, ToolPolicyGuard

        self.policy_guard = ToolPolicyGuard(ToolPolicy(**(meta.tool_policy or {})))
        self.agent: Any = None
        self.bridge: BusBridge | None = None
        self.trace_calls = itertools.count(1)  # llm_request/llm_response pairing
        self.extras: Any = None  # the service tools' shared state (tasks, background, ...)
        self.running_run: str | None = None
        self.queued = 0
        self._task: asyncio.Task[Any] | None = None
        self._interrupt_with: str | None = None
        self._turn_usage: dict[str, int] = {}
        self._build_lock = asyncio.Lock()

    # --- the agent ----------------------------------------------------------------------

    async def ensure_agent(self) -> Any:
        async with self._build_lock:
            if self.agent is None:
                self.agent = await self.service.build_conversation_agent(self)
                self.bridge = BusBridge(self.log)
                self.bridge.attach(self.agent.bus)
                self.agent.bus.on("model_end", self._on_model_end)
        return self.agent

    def _on_model_end(self, response: Any = None, **_: Any) -> None:
        _add(self._turn_usage, getattr(response, "usage", None))

    # --- turns --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.running_run is not None

    def idle(self) -> bool:
        """Nothing would be lost by closing it now: no turn, no client, no teammate or
        background command at work."""
        extras = self.extras
        busy_team = extras is not None and extras.team is not None and any(
            m.status != "shutdown" for m in extras.team.members.values())
        busy_bg = extras is not None and extras.background is not None and any(
            j.status == "running" for j in extras.background.jobs.values())
        return (not self.running and self.queued == 0 and self.log.subscribers == 0
                and not busy_team and not busy_bg)

    async def submit(self, content: str, *, mode: str = "queue") -> str:
        """Queue ``content`` as a turn (or interrupt the running one with it); returns the
        lane's run id."""
        if mode not in ("queue", "interrupt"):
            raise ValueError(f"mode must be 'queue' or 'interrupt', not {mode!r}")
        if mode == "interrupt" and self.running:
            self._interrupt_with = content
            await self.cancel_current()
            return await self._enqueue(content, priority=10)
        return await self._enqueue(content, priority=0)

    async def _enqueue(self, content: str, *, priority: int) -> str:
        await self.ensure_agent()
        behind = self.queued + (1 if self.running else 0)
        self.queued += 1
        holder: dict[str, str] = {}
        ticket = await self.service.lanes.enqueue(
            self.meta.id, lambda: self._turn(content, behind, holder["run_id"]),
            priority=priority)
        holder["run_id"] = ticket.run_id  # set before the lane calls the factory
        return str(ticket.run_id)

    async def cancel_current(self) -> bool:
        """Cancel the running turn, if any; ``True`` if there was one."""
        run_id = self.running_run
        if run_id is None:
            return False
        if self.agent is not None:
            self.agent.cancel()
        if not await _maybe(self.service.lanes.cancel(run_id)):
            task = self._task  # the lane no longer knows the run: stop it here
            if task is not None and not task.done():
                task.cancel()
        if self.approver is not None:
            self.approver.deny_all("cancelled")  # after the cancel: nothing runs on it
        return True

    async def _prefix(self) -> str:
        """What happened since the last turn, put before the user's input: finished
        background commands (published as ``background_result`` when each ended) and
        the lead's unread team mail."""
        extras = self.extras
        if extras is None:
            return ""
        parts = []
        notes = extras.background.drain() if extras.background is not None else []
        if notes:
            parts.append("[Background commands finished since your last turn]\n" + "\n".join(
                f"- background task {n['task_id']} ({n['command']}): {n['status']}\n"
                f"{n['result']}" for n in notes))
        if extras.team is not None:
            mail = await extras.team.mail.drain("lead")
            if mail:
                parts.append("[Messages from your teammates]\n" + "\n".join(
                    f"- from {m['from']} ({m['type']}"
                    + (f", request {m['request_id']}" if m.get("request_id") else "")
                    + f"): {m['content']}" for m in mail))
        return "\n\n".join(parts) + "\n\n" if parts else ""

    async def _turn(self, content: str, behind: int, run_id: str) -> dict[str, Any]:
        self.queued = max(0, self.queued - 1)
        self.running_run = run_id
        self._task = asyncio.current_task()
        self._turn_usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.policy_guard.new_turn()
        self.log.turn_id = self.running_run
        started = time.time()
        agent = self.agent
        outcome: dict[str, Any] = {"stop_reason": "error"}
        self.log.publish("turn_start", content=content, queued_behind=behind)
        if not self.meta.title:
            title = " ".join(content.split())[:80]
            self.meta.title = title
            self.service.store.set_title(self.meta.id, title)
        try:
            task = await self._prefix() + content
            result = await agent.run(task, history=list(self.history))
            self.history = [m for m in result.messages if m.get("role") != "system"]
            outcome = {"stop_reason": result.stop_reason or "completed",
                       "final_text": result.final_text}
            await self._finish("done", started, **outcome)
        except (asyncio.CancelledError, RunCancelled) as exc:
            if isinstance(exc, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()  # handled: the lane goes on with the next turn
            self.history = self.service.continuable(agent.history)
            outcome = {"stop_reason": "cancelled"}
            if self._interrupt_with is not None:
                await self._finish("interrupted", started, content=self._interrupt_with)
            else:
                await self._finish("done", started, stop_reason="cancelled", final_text="")
        except Exception as exc:  # noqa: BLE001 - reported to the client, not raised
            logger.warning("conversation %s: turn failed: %s: %s", self.meta.id,
                           type(exc).__name__, exc)
            self.history = self.service.continuable(agent.history)
            self.log.publish("error", message=f"{type(exc).__name__}: {exc}")
            await self._finish("done", started, stop_reason="error", final_text="")
        finally:
            self._interrupt_with = None
            self._task = None
            self.running_run = None
            self.log.turn_id = None
        return outcome

    async def _finish(self, kind: str, started: float, **fields: Any) -> None:
        usage = dict(self._turn_usage)
        await asyncio.to_thread(self.service.store.add_usage, self.meta.id,
                                usage.get("prompt_tokens", 0),
                                usage.get("completion_tokens", 0))
        self.meta.prompt_tokens += usage.get("prompt_tokens", 0)
        self.meta.completion_tokens += usage.get("completion_tokens", 0)
        total = {"prompt_tokens": self.meta.prompt_tokens,
                 "completion_tokens": self.meta.completion_tokens,
                 "total_tokens": self.meta.prompt_tokens + self.meta.completion_tokens}
        files = self.files.changed_since(started - 1)
        if kind == "interrupted":
            self.log.publish("interrupted", usage=usage, files=files, **fields)
        else:
            self.log.publish("done", usage=usage, total_usage=total, files=files, **fields)

    async def close(self) -> None:
        await self.cancel_current()
        if self.extras is not None and hasattr(self.extras, "aclose"):
            await self.extras.aclose()
        if self.agent is not None:
            await self.agent.aclose()
        self.log.close()
