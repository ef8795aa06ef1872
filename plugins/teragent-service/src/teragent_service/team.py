"""Teammates (``enable_teams``): named agents that work beside the conversation's lead
agent, each an asyncio task running its own agent (from :func:`teragent.build_agent`,
same workspace, guards and task graph), talking through mailboxes.

State machine per teammate::

    WORK  ── its agent runs on the input (the spawn prompt, inbox messages, or a task
             it claimed from the task graph) ──▶ IDLE
    IDLE  ── a message arrives ──▶ WORK
          ── an unclaimed, unblocked task is on the board ──▶ claim it ──▶ WORK
          ── nothing for ``idle_timeout`` s ──▶ SHUTDOWN
    any   ── shutdown request approved (or the conversation ends) ──▶ SHUTDOWN

Mailboxes are JSONL files (``.team/inbox/<name>.jsonl``): a message is appended when
sent and the file is emptied when its owner reads it, so unread mail survives a
restart. Protocols (shutdown, plan approval) are request/response pairs with an id
(``.team/protocols.json``). Every state change publishes ``teammate_status``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ToolResult

if TYPE_CHECKING:
    from teragent_service.runner import ConversationRuntime
    from teragent_service.service import AgentService

__all__ = ["Mailboxes", "TeamManager", "team_tools", "LEAD"]

LEAD = "lead"
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

TEAMMATE_PROMPT = (
    "You are {name}, a teammate with the role '{role}', working in {workspace} with a "
    "lead agent and other teammates. Use send_message to report to 'lead' or to talk "
    "to a teammate, read_inbox for your mail, and the task tools to claim and finish "
    "tasks (set yourself as owner). For a larger change, submit_plan first and wait for "
    "the lead's decision in your inbox. Answer a shutdown request with "
    "shutdown_response. Finish each piece of work with a short report.")


class Mailboxes:
    """Per-agent mailboxes persisted as JSONL (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = asyncio.Lock()
        self._events: dict[str, asyncio.Event] = {}

    def event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.jsonl"

    async def send(self, sender: str, to: str, content: str, kind: str = "message",
                   **extra: Any) -> dict[str, Any]:
        msg = {"from": sender, "to": to, "type": kind, "content": content,
               "ts": time.time(), **extra}
        async with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self._path(to), "a", encoding="utf-8") as fh:
                fh.write(json.dumps(msg, ensure_ascii=False) + "\n")
        self.event(to).set()
        return msg

    async def drain(self, name: str) -> list[dict[str, Any]]:
        async with self._lock:
            path = self._path(name)
            self.event(name).clear()
            if not path.exists():
                return []
            lines = path.read_text(encoding="utf-8").splitlines()
            path.write_text("", encoding="utf-8")
        return [json.loads(line) for line in lines if line.strip()]

    def pending(self, name: str) -> bool:
        path = self._path(name)
        return path.exists() and path.stat().st_size > 0


@dataclass
class Teammate:
    name: str
    role: str
    status: str = "working"  # working | idle | shutdown
    task: asyncio.Task[None] | None = None
    runs: int = 0
    shutdown_approved: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


class TeamManager:
    """The teammates of one conversation."""

    def __init__(self, service: AgentService, rt: ConversationRuntime) -> None:
        self.service = service
        self.rt = rt
        self.folder = rt.workspace / ".team"
        self.mail = Mailboxes(self.folder / "inbox")
        self.members: dict[str, Teammate] = {}
        self.protocols: dict[str, dict[str, Any]] = self._load_protocols()
        self._ids = itertools.count(len(self.protocols) + 1)
        settings = service.settings
        self.idle_timeout = settings.teammate_idle_timeout
        self.idle_poll = settings.teammate_idle_poll
        self.max_teammates = settings.max_teammates

    # --- protocols ------------------------------------------------------------------------

    def _load_protocols(self) -> dict[str, dict[str, Any]]:
        path = self.folder / "protocols.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def _save_protocols(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "protocols.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.protocols, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def open_protocol(self, kind: str, sender: str, to: str, content: str) -> str:
        rid = f"{kind}-{next(self._ids)}"
        self.protocols[rid] = {"id": rid, "kind": kind, "from": sender, "to": to,
                               "content": content, "status": "pending", "answer": ""}
        self._save_protocols()
        return rid

    def close_protocol(self, rid: str, approve: bool, answer: str) -> dict[str, Any]:
        proto = self.protocols.get(rid)
        if proto is None:
            raise ValueError(f"no protocol request {rid!r}")
        if proto["status"] != "pending":
            raise ValueError(f"{rid} was answered already ({proto['status']})")
        proto["status"] = "approved" if approve else "rejected"
        proto["answer"] = answer
        self._save_protocols()
        return proto

    # --- members --------------------------------------------------------------------------

    def _status(self, mate: Teammate, status: str) -> None:
        mate.status = status
        self.rt.log.publish("teammate_status", name=mate.name, role=mate.role, status=status)

    def spawn(self, name: str, role: str, prompt: str) -> Teammate:
        if not NAME.match(name) or name == LEAD:
            raise ValueError(f"teammate name {name!r}: lower-case letters, digits, '-' "
                             "or '_', starting with a letter, and not 'lead'.")
        old = self.members.get(name)
        if old is not None and old.status != "shutdown":
            raise ValueError(f"{name} is already on the team ({old.status}).")
        active = sum(1 for m in self.members.values() if m.status != "shutdown")
        if active >= self.max_teammates:
            raise ValueError(f"the team has {active} active teammates (limit "
                             f"{self.max_teammates}); shut one down first.")
        mate = Teammate(name, role)
        self.members[name] = mate
        self._status(mate, "working")
        mate.task = asyncio.ensure_future(self._life(mate, prompt))
        return mate

    async def _life(self, mate: Teammate, first: str) -> None:
        agent = self.service.build_teammate(self.rt, mate.name, mate.role)
        work: str | None = first
        try:
            while not mate.shutdown_approved:
                if work is not None:
                    if mate.status != "working":
                        self._status(mate, "working")
                    mate.runs += 1
                    try:
                        result = await agent.run(work, history=mate.history)
                        mate.history = [m for m in result.messages
                                        if m.get("role") != "system"]
                        report = result.final_text
                    except Exception as exc:  # noqa: BLE001 - told to the lead
                        report = f"{mate.name} failed: {type(exc).__name__}: {exc}"
                    if report:
                        await self.mail.send(mate.name, LEAD, report, kind="report")
                    if mate.shutdown_approved:
                        break
                self._status(mate, "idle")
                work = await self._idle(mate)
                if work is None:
                    break
        finally:
            await agent.close()
            self._status(mate, "shutdown")

    async def _idle(self, mate: Teammate) -> str | None:
        """Wait for mail or a claimable task; ``None`` after ``idle_timeout``."""
        deadline = time.monotonic() + self.idle_timeout
        while time.monotonic() < deadline and not mate.shutdown_approved:
            if self.mail.pending(mate.name):
                msgs = await self.mail.drain(mate.name)
                if msgs:
                    return "Messages in your inbox:\n" + "\n".join(
                        f"- from {m['from']} ({m['type']}"
                        + (f", request {m['request_id']}" if m.get("request_id") else "")
                        + f"): {m['content']}" for m in msgs)
            claimed = await self._claim(mate)
            if claimed is not None:
                return claimed
            try:
                await asyncio.wait_for(self.mail.event(mate.name).wait(),
                                       min(self.idle_poll, max(0.0, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                pass
        return None

    async def _claim(self, mate: Teammate) -> str | None:
        extras = self.rt.extras
        if extras is None:
            return None
        for task in await extras.tasks.list():
            if task["status"] == "pending" and not task["owner"] and not task["blockedBy"]:
                await extras.tasks.update(task["id"], owner=mate.name, status="in_progress")
                return (f"You claimed task #{task['id']} from the board: {task['subject']}\n"
                        f"{task['description']}\nDo it, then mark it completed.")
        return None

    async def aclose(self) -> None:
        tasks = [m.task for m in self.members.values() if m.task and not m.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


# --- tools ---------------------------------------------------------------------------------

class _TeamTool(BaseTool):
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY  # messaging; the mates' calls are guarded
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, team: TeamManager, me: str = LEAD) -> None:
        self.team = team
        self.me = me

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        try:
            return ToolResult(success=True, data=await self._run(params), safety=self.safety)
        except ValueError as exc:
            return ToolResult(success=False, error=str(exc), safety=self.safety)

    async def _run(self, params: dict[str, Any]) -> str:
        raise NotImplementedError

    def _known(self, name: str) -> None:
        if name != LEAD and name not in self.team.members:
            have = ", ".join([LEAD, *self.team.members])
            raise ValueError(f"no teammate {name!r} (team: {have}).")


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


_S = {"type": "string"}


class SpawnTeammateTool(_TeamTool):
    name: ClassVar[str] = "spawn_teammate"
    description: ClassVar[str] = ("Start a named teammate with a role and a first task; it "
                                  "works in parallel and reports to your inbox.")
    parameters_schema: ClassVar[dict[str, Any]] = _schema(
        {"name": _S, "role": _S, "prompt": _S}, ["name", "role", "prompt"])
    data_params: ClassVar[tuple[str, ...]] = ("name", "role", "prompt")

    async def _run(self, params: dict[str, Any]) -> str:
        mate = self.team.spawn(params["name"], params["role"], params["prompt"])
        return f"Spawned {mate.name} ({mate.role})."


class ListTeammatesTool(_TeamTool):
    name: ClassVar[str] = "list_teammates"
    description: ClassVar[str] = "List teammates with their role and status."
    parameters_schema: ClassVar[dict[str, Any]] = _schema({}, [])

    async def _run(self, params: dict[str, Any]) -> str:
        if not self.team.members:
            return "No teammates."
        return "\n".join(f"{m.name} ({m.role}): {m.status}"
                         for m in self.team.members.values())


class SendMessageTool(_TeamTool):
    name: ClassVar[str] = "send_message"
    description: ClassVar[str] = "Send a message to a teammate (or to 'lead')."
    parameters_schema: ClassVar[dict[str, Any]] = _schema({"to": _S, "content": _S},
                                                          ["to", "content"])
    data_params: ClassVar[tuple[str, ...]] = ("to", "content")

    async def _run(self, params: dict[str, Any]) -> str:
        self._known(params["to"])
        await self.team.mail.send(self.me, params["to"], params["content"])
        return f"Sent to {params['to']}."


class ReadInboxTool(_TeamTool):
    name: ClassVar[str] = "read_inbox"
    description: ClassVar[str] = "Read and empty your inbox."
    parameters_schema: ClassVar[dict[str, Any]] = _schema({}, [])

    async def _run(self, params: dict[str, Any]) -> str:
        msgs = await self.team.mail.drain(self.me)
        if not msgs:
            return "Your inbox is empty."
        return "\n".join(f"- from {m['from']} ({m['type']}"
                         + (f", request {m['request_id']}" if m.get("request_id") else "")
                         + f"): {m['content']}" for m in msgs)


class BroadcastTool(_TeamTool):
    name: ClassVar[str] = "broadcast"
    description: ClassVar[str] = "Send a message to every active teammate."
    parameters_schema: ClassVar[dict[str, Any]] = _schema({"content": _S}, ["content"])
    data_params: ClassVar[tuple[str, ...]] = ("content",)

    async def _run(self, params: dict[str, Any]) -> str:
        names = [m.name for m in self.team.members.values()
                 if m.status != "shutdown" and m.name != self.me]
        for name in names:
            await self.team.mail.send(self.me, name, params["content"], kind="broadcast")
        return f"Sent to {', '.join(names) or 'nobody (no active teammates)'}."


class ShutdownRequestTool(_TeamTool):
    name: ClassVar[str] = "shutdown_request"
    description: ClassVar[str] = ("Ask a teammate to shut down gracefully; it answers with "
                                  "approve or reject (check_protocol shows the answer).")
    parameters_schema: ClassVar[dict[str, Any]] = _schema({"name": _S, "reason": _S},
                                                          ["name"])
    data_params: ClassVar[tuple[str, ...]] = ("name", "reason")

    async def _run(self, params: dict[str, Any]) -> str:
        name = params["name"]
        if name not in self.team.members:
            self._known(name)
        rid = self.team.open_protocol("shutdown", LEAD, name, params.get("reason", ""))
        await self.team.mail.send(LEAD, name, params.get("reason") or "please shut down",
                                  kind="shutdown_request", request_id=rid)
        return f"Shutdown requested from {name}: request {rid}."


class CheckProtocolTool(_TeamTool):
    name: ClassVar[str] = "check_protocol"
    description: ClassVar[str] = "Status of a shutdown or plan request by its id."
    parameters_schema: ClassVar[dict[str, Any]] = _schema({"request_id": _S}, ["request_id"])
    data_params: ClassVar[tuple[str, ...]] = ("request_id",)

    async def _run(self, params: dict[str, Any]) -> str:
        proto = self.team.protocols.get(params["request_id"])
        if proto is None:
            raise ValueError(f"no request {params['request_id']!r}")
        return json.dumps(proto)


class PlanReviewTool(_TeamTool):
    name: ClassVar[str] = "plan_review"
    description: ClassVar[str] = "Approve or reject a plan a teammate submitted."
    parameters_schema: ClassVar[dict[str, Any]] = _schema(
        {"request_id": _S, "approve": {"type": "boolean"}, "feedback": _S},
        ["request_id", "approve"])
    data_params: ClassVar[tuple[str, ...]] = ("request_id", "approve", "feedback")

    async def _run(self, params: dict[str, Any]) -> str:
        proto = self.team.close_protocol(params["request_id"], bool(params["approve"]),
                                         params.get("feedback", ""))
        await self.team.mail.send(LEAD, proto["from"],
                                  f"plan {proto['status']}: {params.get('feedback', '')}",
                                  kind="plan_decision", request_id=proto["id"])
        return f"Plan {proto['id']} {proto['status']}."


class SubmitPlanTool(_TeamTool):
    name: ClassVar[str] = "submit_plan"
    description: ClassVar[str] = ("Submit a plan to the lead for approval; the decision "
                                  "arrives in your inbox.")
    parameters_schema: ClassVar[dict[str, Any]] = _schema({"plan": _S}, ["plan"])
    data_params: ClassVar[tuple[str, ...]] = ("plan",)

    async def _run(self, params: dict[str, Any]) -> str:
        rid = self.team.open_protocol("plan", self.me, LEAD, params["plan"])
        await self.team.mail.send(self.me, LEAD, params["plan"], kind="plan_request",
                                  request_id=rid)
        return f"Plan submitted as {rid}; wait for the decision in your inbox."


class ShutdownResponseTool(_TeamTool):
    name: ClassVar[str] = "shutdown_response"
    description: ClassVar[str] = ("Answer a shutdown request: approve (you stop after this "
                                  "turn) or reject with a reason.")
    parameters_schema: ClassVar[dict[str, Any]] = _schema(
        {"request_id": _S, "approve": {"type": "boolean"}, "reason": _S},
        ["request_id", "approve"])
    data_params: ClassVar[tuple[str, ...]] = ("request_id", "approve", "reason")

    async def _run(self, params: dict[str, Any]) -> str:
        proto = self.team.protocols.get(params["request_id"])
        if proto is None or proto["to"] != self.me:
            raise ValueError(f"no shutdown request {params['request_id']!r} for {self.me}")
        self.team.close_protocol(proto["id"], bool(params["approve"]),
                                 params.get("reason", ""))
        if params["approve"]:
            self.team.members[self.me].shutdown_approved = True
        await self.team.mail.send(self.me, LEAD, f"shutdown {proto['status']}: "
                                  f"{params.get('reason', '')}", kind="shutdown_response",
                                  request_id=proto["id"])
        return "Shutting down after this turn." if params["approve"] else "Staying on."


def team_tools(service: AgentService, rt: ConversationRuntime) -> list[BaseTool]:
    """The lead's team tools (the team is created with them)."""
    extras = rt.extras
    if extras.team is None:
        extras.team = TeamManager(service, rt)
    team = extras.team
    return [SpawnTeammateTool(team), ListTeammatesTool(team), SendMessageTool(team),
            ReadInboxTool(team), BroadcastTool(team), ShutdownRequestTool(team),
            CheckProtocolTool(team), PlanReviewTool(team)]


def teammate_tools(team: TeamManager, name: str) -> list[BaseTool]:
    """A teammate's messaging tools (it cannot spawn teammates)."""
    return [SendMessageTool(team, name), ReadInboxTool(team, name),
            ListTeammatesTool(team, name), SubmitPlanTool(team, name),
            ShutdownResponseTool(team, name)]
