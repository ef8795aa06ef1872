"""``ApprovalGate``: a human approves, rejects or edits a tool call before it runs.

Use it as a ToolOrchestrator guard (``ToolOrchestrator(..., guards=[gate])``) for the
tools that need a human, or as the ask handler of a permission manager (ASK answers).
A request is decided by the ``handler`` (a UI, a console prompt, a test) or from
outside with :meth:`ApprovalGate.approve` / :meth:`reject` / :meth:`modify` (a web
socket, another task or thread). With no decision within ``timeout`` seconds the
request is rejected (``on_timeout``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import itertools
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Iterable

from teragent.core.types import ToolCall, ToolSafety

__all__ = ["ApprovalGate", "ApprovalDecision", "ApprovalRequest", "ApprovalResult"]


class ApprovalDecision(str, Enum):
    APPROVE = "approve"
    REJECT = "reject"
    MODIFY = "modify"


@dataclass
class ApprovalResult:
    decision: ApprovalDecision
    params: dict[str, Any] | None = None
    reason: str = ""
    by: str = ""


@dataclass
class ApprovalRequest:
    """One pending question to a human."""

    id: str
    tool_name: str
    params: dict[str, Any]
    reason: str = ""
    safety: str | None = None
    created_at: float = field(default_factory=time.time)
    _future: asyncio.Future[ApprovalResult] | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)


Handler = Callable[[ApprovalRequest], "Awaitable[Any] | Any"]


def _coerce(out: Any) -> ApprovalResult:
    if isinstance(out, ApprovalResult):
        return out
    if isinstance(out, ApprovalDecision):
        return ApprovalResult(out)
    if isinstance(out, bool):
        return ApprovalResult(ApprovalDecision.APPROVE if out else ApprovalDecision.REJECT)
    if isinstance(out, dict):
        decision = ApprovalDecision(str(out.get("decision", "reject")).lower())
        params = out.get("params")
        if decision == ApprovalDecision.MODIFY and not isinstance(params, dict):
            raise ValueError("a 'modify' answer needs a 'params' object")
        return ApprovalResult(decision, params, str(out.get("reason") or ""),
                              str(out.get("by") or ""))
    raise TypeError(f"an approval handler returned {type(out).__name__}; return a bool, an "
                    "ApprovalDecision, an ApprovalResult or a dict")


class ApprovalGate:
    """Human-in-the-loop approval for tool calls.

    Args:
        handler: Decides a request (sync or async): returns a bool, an
            :class:`ApprovalDecision`, an :class:`ApprovalResult` or
            ``{"decision", "params", "reason"}``. ``None``: requests wait for
            :meth:`approve`/:meth:`reject`/:meth:`modify`.
        timeout: Seconds to wait for a decision (default 300).
        on_timeout: The decision when time runs out (default REJECT).
        tools: Tool-name globs that need approval (default: decided by ``safety``).
        safety: Safety levels that need approval when ``tools`` is not given
            (default: shell and destructive tools).
        bus: Optional EventBus for ``approval_requested``/``approval_resolved``.
    """

    name = "approval_gate"

    def __init__(self, handler: Handler | None = None, *, timeout: float = 300.0,
                 on_timeout: ApprovalDecision = ApprovalDecision.REJECT,
                 tools: Iterable[str] | None = None,
                 safety: Iterable[ToolSafety | str] = (ToolSafety.HIGH_RISK,
                                                       ToolSafety.DESTRUCTIVE),
                 bus: Any = None) -> None:
        if on_timeout == ApprovalDecision.MODIFY:
            raise ValueError("on_timeout must be APPROVE or REJECT")
        self.handler = handler
        self.timeout = timeout
        self.on_timeout = on_timeout
        self.tools = tuple(tools) if tools is not None else None
        self.safety = frozenset(ToolSafety(getattr(s, "value", s)) for s in safety)
        self.bus = bus
        self.auto_approve = False
        self.history: list[tuple[ApprovalRequest, ApprovalResult]] = []
        self._pending: dict[str, ApprovalRequest] = {}
        self._ids = itertools.count(1)

    # --- which calls --------------------------------------------------------------------

    def needs_approval(self, tool_name: str, safety: ToolSafety | str | None) -> bool:
        if self.tools is not None:
            return any(fnmatch.fnmatchcase(tool_name, pattern) for pattern in self.tools)
        if safety is None:
            return True
        return ToolSafety(getattr(safety, "value", safety)) in self.safety

    # --- deciding -------------------------------------------------------------------------

    def pending(self) -> list[ApprovalRequest]:
        return list(self._pending.values())

    def _resolve(self, request_id: str, result: ApprovalResult) -> None:
        request = self._pending.get(request_id)
        if request is None:
            raise KeyError(f"no pending approval request {request_id!r}")
        fut, loop = request._future, request._loop
        assert fut is not None and loop is not None

        def settle() -> None:
            if not fut.done():
                fut.set_result(result)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            settle()
        else:
            loop.call_soon_threadsafe(settle)

    def approve(self, request_id: str, *, by: str = "") -> None:
        self._resolve(request_id, ApprovalResult(ApprovalDecision.APPROVE, by=by))

    def reject(self, request_id: str, reason: str = "", *, by: str = "") -> None:
        self._resolve(request_id, ApprovalResult(ApprovalDecision.REJECT, reason=reason, by=by))

    def modify(self, request_id: str, params: dict[str, Any], *, by: str = "") -> None:
        self._resolve(request_id, ApprovalResult(ApprovalDecision.MODIFY, dict(params), by=by))

    async def _emit(self, name: str, **payload: Any) -> None:
        if self.bus is not None:
            await self.bus.emit(name, **payload)

    async def _run_handler(self, request: ApprovalRequest) -> None:
        fut = request._future
        assert fut is not None and self.handler is not None
        try:
            out = self.handler(request)
            if inspect.isawaitable(out):
                out = await out
            result = _coerce(out)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken approver rejects (fail closed)
            result = ApprovalResult(ApprovalDecision.REJECT,
                                    reason=f"the approval handler failed: {exc}", by="error")
        if not fut.done():
            fut.set_result(result)

    async def request_approval(self, tool_name: str, params: dict[str, Any], reason: str = "",
                               safety: ToolSafety | str | None = None) -> ApprovalResult:
        """Ask and wait; never raises for a slow or absent human (timeout decides)."""
        if self.auto_approve:
            return ApprovalResult(ApprovalDecision.APPROVE, reason="auto-approved", by="auto")
        loop = asyncio.get_running_loop()
        request = ApprovalRequest(f"approval-{next(self._ids)}", tool_name, dict(params), reason,
                                  getattr(safety, "value", safety), _future=loop.create_future(),
                                  _loop=loop)
        self._pending[request.id] = request
        await self._emit("approval_requested", request=request)
        try:
            task: asyncio.Future[None] | None = None
            if self.handler is not None:
                task = asyncio.ensure_future(self._run_handler(request))
            try:
                assert request._future is not None
                result = await asyncio.wait_for(asyncio.shield(request._future), self.timeout)
            except asyncio.TimeoutError:
                result = ApprovalResult(self.on_timeout,
                                        reason=f"no decision within {self.timeout:g} s",
                                        by="timeout")
            finally:
                if task is not None and not task.done():
                    task.cancel()
        finally:
            self._pending.pop(request.id, None)
        self.history.append((request, result))
        await self._emit("approval_resolved", request=request, result=result)
        return result

    # --- as a ToolOrchestrator guard -----------------------------------------------------------

    async def check(self, call: ToolCall, tool: Any) -> Any:
        from teragent.guards import GuardDecision

        safety = getattr(tool, "safety", None)
        if not self.needs_approval(call.name, safety):
            return None
        result = await self.request_approval(call.name, dict(call.arguments),
                                             f"{call.name} needs approval", safety)
        who = f" by {result.by}" if result.by else ""
        if result.decision == ApprovalDecision.APPROVE:
            return GuardDecision(True, f"approved{who}", source=self.name)
        if result.decision == ApprovalDecision.MODIFY:
            return GuardDecision(True, f"modified{who}", params=dict(result.params or {}),
                                 source=self.name)
        reason = result.reason or "the user rejected this tool call"
        return GuardDecision(False, f"rejected{who}: {reason}", source=self.name)

    # --- as a permission manager's ask handler ------------------------------------------------

    async def ask(self, tool_name: str, params: dict[str, Any], reason: str = "") -> bool:
        result = await self.request_approval(tool_name, params, reason)
        return result.decision == ApprovalDecision.APPROVE
