"""Approvals answered over the WebSocket: "approve / deny / auto-approve the rest".

:class:`WebSocketApprover` is a conversation's approval gate (``build_agent(
approval_gate=...)``, last in the guard chain, so a person is asked only about calls
every other guard let through). It asks about calls of tools that are not read-only,
publishes ``tool_approval_request`` on the conversation's event log, and waits for
:meth:`answer` (the WebSocket handler calls it on ``tool_approval_response``). No
answer within ``timeout`` seconds denies the call.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from teragent.core.types import ToolSafety
from teragent.secrets import redact_arguments

from teragent_service.events import EventLog

__all__ = ["WebSocketApprover", "DECISIONS"]

DECISIONS = ("approve", "deny", "auto_approve")


class WebSocketApprover:
    """The approval gate of one conversation (see the module docstring).

    Args:
        log: Where requests and results are published.
        timeout: Seconds before an unanswered request is denied (default 300).
        ask_safety: Tool kinds that need a yes (default: everything but read-only).
    """

    name = "websocket_approval"

    def __init__(self, log: EventLog, *, timeout: float = 300.0,
                 ask_safety: frozenset[ToolSafety] = frozenset(
                     {ToolSafety.SAFE_WRITE, ToolSafety.DESTRUCTIVE, ToolSafety.HIGH_RISK})
                 ) -> None:
        self.log = log
        self.timeout = timeout
        self.ask_safety = ask_safety
        self.auto_approve = False
        self._pending: dict[str, tuple[asyncio.Future[str], list[dict[str, Any]]]] = {}
        self._ids = itertools.count(1)

    def pending(self) -> list[str]:
        return list(self._pending)

    def answer(self, decision: str, request_id: str | None = None) -> list[str]:
        """Settle ``request_id`` (or every pending request); returns the ids settled.

        Raises:
            ValueError: ``decision`` is not approve, deny or auto_approve.
        """
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not "
                             f"{decision!r}")
        if decision == "auto_approve":
            self.auto_approve = True
        ids = [request_id] if request_id else list(self._pending)
        settled = []
        for rid in ids:
            entry = self._pending.get(rid)
            if entry is not None and not entry[0].done():
                entry[0].set_result(decision)
                settled.append(rid)
        return settled

    def deny_all(self, why: str = "deny") -> None:
        """Deny whatever is waiting (the turn was cancelled or interrupted)."""
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.set_result(why)

    async def check(self, call: Any, tool: Any) -> Any:
        from teragent.guards import GuardDecision

        safety = getattr(tool, "safety", None)
        if safety not in self.ask_safety:
            return None
        if self.auto_approve:
            return GuardDecision(True, "auto-approved for the rest of the conversation",
                                 source=self.name)
        rid = f"approval-{next(self._ids)}"
        # an event, replayed to every client: sensitive arguments (a password the
        # desktop tool would type) show their length only, as in every other record
        shown = redact_arguments(call.name, dict(call.arguments),
                                 getattr(tool, "sensitive_params", None) or None)
        tools = [{"name": call.name, "input": shown, "id": call.id}]
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (fut, tools)
        self.log.publish("tool_approval_request", request_id=rid, tools=tools,
                         timeout=self.timeout)
        try:
            decision = await asyncio.wait_for(asyncio.shield(fut), self.timeout)
        except asyncio.TimeoutError:
            decision = "timeout"
        finally:
            self._pending.pop(rid, None)
        self.log.publish("tool_approval_result", request_id=rid, decision=decision,
                         tools=tools)
        if decision in ("approve", "auto_approve"):
            return GuardDecision(True, f"approved by the user ({decision})", source=self.name)
        if decision == "timeout":
            return GuardDecision(False, f"no approval within {self.timeout:g} s; the call "
                                 "was denied", source=self.name)
        if decision == "cancelled":
            return GuardDecision(False, "the turn was cancelled while waiting for approval",
                                 source=self.name)
        return GuardDecision(False, "User denied this tool call", source=self.name)
