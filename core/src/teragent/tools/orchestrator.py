"""``ToolOrchestrator``: the one guarded path every tool call takes.

Scheduling: consecutive calls to read-only, concurrency-safe tools run in parallel
(bounded by ``max_concurrent``); every other call runs alone, in the order the model
asked for it. Results come back in call order.

Each call goes through the same steps: look the tool up, parse and validate the
arguments against its schema, ask the run's :class:`~teragent.guards.GuardChain`, start
its tool pack, run it with a timeout, truncate its output, and tell the chain's
observers (the audit log among them) what happened, refused calls included. Problems a
model causes (unknown tool, bad arguments, refusal, timeout, a tool that raises) come
back as tool errors the model can read, never as exceptions.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from teragent.errors import RunCancelled
from teragent.secrets import redact_tool_call
from teragent.guards import (
    GuardChain, GuardDecision, HookManagerGuard, PermissionManagerGuard, SafetyGate, ToolGuard,
)
from teragent.tools.base import BaseTool, ToolResult
from teragent.tools.registry import ToolRegistry

if TYPE_CHECKING:  # the TAP message models load with the first call, not with the agent
    from teragent.core.types import ToolCall

__all__ = ["ToolOrchestrator", "ToolCallOutcome", "GuardDecision", "ToolGuard", "SafetyGate",
           "coerce_tool_call"]

logger = logging.getLogger("teragent.tools")


@dataclass
class ToolCallOutcome:
    """One executed (or refused) tool call."""

    call: ToolCall
    result: ToolResult
    started_at: float = 0.0
    ended_at: float = 0.0
    denied: bool = False
    truncated: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at

    @property
    def success(self) -> bool:
        return self.result.success

    def to_message(self) -> dict[str, Any]:
        """The ``tool`` message (OpenAI chat shape) reporting this result."""
        return {"role": "tool", "tool_call_id": self.call.id, "name": self.call.name,
                "content": self.result.to_text()}


def coerce_tool_call(raw: Any, index: int = 0) -> ToolCall:
    """Accept a :class:`ToolCall`, an OpenAI ``tool_calls`` entry, or
    ``{"name", "arguments", "id"}``."""
    from teragent.core.types import ToolCall

    if isinstance(raw, ToolCall):
        return raw
    if not isinstance(raw, dict):
        return ToolCall(id=f"call_{index}", name=str(raw), parse_error="not a tool call object")
    fn = raw.get("function") or raw
    name = str(fn.get("name", ""))
    args = fn.get("arguments", {})
    call_id = str(raw.get("id") or f"call_{index}")
    if isinstance(args, str):
        return ToolCall.from_raw(call_id, name, args)
    if isinstance(args, dict):
        return ToolCall(id=call_id, name=name, arguments=args, raw_arguments=json.dumps(args))
    return ToolCall(id=call_id, name=name, raw_arguments=str(args),
                    parse_error="arguments must be a JSON object")


class ToolOrchestrator:
    """Runs batches of tool calls through the guarded path.

    Args:
        tool_registry: The tools available.
        permission_level: Kept for API compatibility; permission managers own levels.
        hook_manager: Optional hook manager (``run_hooks("pre_execute"|...)``); added
            to the chain as a guard and an observer.
        enhanced_perm_manager: Optional permission manager (``acheck_tool_params``);
            added to the chain in place of the safety gate.
        guard_chain: The run's :class:`~teragent.guards.GuardChain` (what
            :func:`teragent.build_agent` assembles). When given, the three arguments
            above only *add* to it.
        guards: Extra guards, after the chain's.
        safety_gate: The gate used when neither a chain nor a manager decides;
            ``None`` disables it.
        max_concurrent: Cap on parallel read-only calls.
        timeout: Seconds per call.
        max_output_chars: Longer outputs are cut, with a note saying so.
        bus: Optional :class:`~teragent.events.EventBus` for ``tool_start``/``tool_end``.
    """

    def __init__(
        self,
        tool_registry: ToolRegistry,
        permission_level: int = 0,
        hook_manager: Any = None,
        enhanced_perm_manager: Any = None,
        *,
        guard_chain: GuardChain | None = None,
        guards: Iterable[ToolGuard] = (),
        safety_gate: SafetyGate | None | str = "default",
        max_concurrent: int = 10,
        timeout: float = 120.0,
        max_output_chars: int = 20_000,
        bus: Any = None,
    ) -> None:
        self.registry = tool_registry
        self.permission_level = permission_level
        self.hook_manager = hook_manager
        self.max_concurrent = max_concurrent
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.bus = bus
        self._limit: Any = None  # an asyncio.Semaphore, made with the first batch
        added: list[Any] = []
        observers: list[Any] = []
        if guard_chain is None:
            if safety_gate == "default":
                safety_gate = SafetyGate()
            if isinstance(safety_gate, SafetyGate) and enhanced_perm_manager is None:
                added.append(safety_gate)
            guard_chain = GuardChain()
        if enhanced_perm_manager is not None:
            added.append(PermissionManagerGuard(enhanced_perm_manager))
        if hook_manager is not None:
            hooks = HookManagerGuard(hook_manager)
            added.append(hooks)
            observers.append(hooks)
        self.chain = guard_chain.extended([*added, *guards], observers)
        self.executed_ids: set[str] = set()

    @property
    def guards(self) -> list[Any]:
        return list(self.chain.guards)

    # --- scheduling -------------------------------------------------------------------

    def _parallel_safe(self, call: ToolCall) -> bool:
        tool = self.registry.find(call.name)
        return tool is not None and tool.is_read_only and tool.concurrency_safe

    def partition(self, calls: Sequence[ToolCall]) -> list[list[ToolCall]]:
        """Consecutive parallel-safe calls form one batch; every other call is alone."""
        batches: list[list[ToolCall]] = []
        for call in calls:
            if self._parallel_safe(call) and batches and self._parallel_safe(batches[-1][0]):
                batches[-1].append(call)
            else:
                batches.append([call])
        return batches

    async def execute_batch(self, tool_calls: Sequence[Any]) -> list[ToolCallOutcome]:
        """Run ``tool_calls`` (in model order) and return their outcomes in that order."""
        import asyncio  # here, not at import: building an agent does not need it

        calls = [coerce_tool_call(c, i) for i, c in enumerate(tool_calls)]
        outcomes: list[ToolCallOutcome] = []
        for batch in self.partition(calls):
            if len(batch) == 1:
                outcomes.append(await self.execute_one(batch[0]))
            else:
                outcomes.extend(await asyncio.gather(*(self._bounded(c) for c in batch)))
        return outcomes

    @property
    def _semaphore(self) -> Any:
        """At most ``max_concurrent`` tools at once (made on first use, so building an
        agent does not import asyncio)."""
        if self._limit is None:
            import asyncio

            self._limit = asyncio.Semaphore(self.max_concurrent)
        return self._limit

    async def _bounded(self, call: ToolCall) -> ToolCallOutcome:
        async with self._semaphore:
            return await self.execute_one(call)

    # --- one call -----------------------------------------------------------------------

    def _error(self, call: ToolCall, message: str, started: float, *, denied: bool = False,
               **meta: Any) -> ToolCallOutcome:
        return ToolCallOutcome(call, ToolResult(success=False, error=message), started,
                               time.perf_counter(), denied=denied,
                               metadata={**meta, "refused": True, "reason": message})

    async def _emit(self, name: str, **payload: Any) -> None:
        if self.bus is not None:
            await self.bus.emit(name, **payload)

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision:
        """Ask the chain; the first refusal wins, modifications accumulate."""
        return await self.chain.check(call, tool)

    async def execute_one(self, tool_call: Any) -> ToolCallOutcome:
        """Run one call through the guarded path (the streaming executor's entry)."""
        outcome = await self._run_single(tool_call)
        # From here on the call is a record (observers, the run's result, agent_done):
        # its sensitive arguments (BaseTool.sensitive_params) are redacted; the tool ran
        # with the real ones.
        outcome.call = redact_tool_call(outcome.call)
        await self.chain.notify(outcome)
        return outcome

    _execute_single = execute_one  # documented in 001 ("Execute single")

    async def _run_single(self, tool_call: Any) -> ToolCallOutcome:
        import asyncio  # (imported by the running loop already)

        call = coerce_tool_call(tool_call)
        started = time.perf_counter()
        tool = self.registry.find(call.name)
        if tool is None:
            names = ", ".join(self.registry.list_tool_names()) or "(none)"
            return self._error(call, f"Unknown tool {call.name!r}. Available tools: {names}.",
                               started)
        if call.parse_error:
            return self._error(call, f"Invalid arguments for tool {call.name!r}: "
                               f"{call.parse_error}. Send the arguments as a JSON object "
                               f"matching: {json.dumps(tool.parameters_schema)}", started)
        problem = tool.validate(call.arguments)
        if problem:
            return self._error(call, f"Invalid arguments for tool {call.name!r}: {problem}. "
                               f"Expected: {json.dumps(tool.parameters_schema)}", started)
        decision = await self.check(call, tool)
        if not decision.allowed:
            await self._emit("tool_denied", tool_name=call.name, tool_call_id=call.id,
                             reason=decision.reason, source=decision.source)
            return self._error(call, f"Permission denied for {call.name!r}: {decision.reason}",
                               started, denied=True, source=decision.source)
        if decision.params is not None:
            problem = tool.validate(call.arguments)
            if problem:
                return self._error(call, f"A hook modified the arguments of {call.name!r} "
                                   f"into an invalid form: {problem}", started)
        pack = self.registry.pack_of(call.name)
        if pack is not None:
            await pack.ensure_started()
        await self._emit("tool_start", tool_name=call.name, tool_call_id=call.id,
                         params=tool.redact(call.arguments), at=time.perf_counter())
        started = time.perf_counter()
        self.executed_ids.add(call.id)
        try:
            result = await asyncio.wait_for(tool.execute(dict(call.arguments)), self.timeout)
            if not isinstance(result, ToolResult):
                result = ToolResult(success=True, data=result, safety=tool.safety)
        except asyncio.TimeoutError:
            result = ToolResult(success=False, error=f"tool {call.name!r} timed out after "
                                f"{self.timeout:g} s", safety=tool.safety)
        except asyncio.CancelledError:
            raise
        except RunCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the model, not raised
            logger.debug("tool %s raised", call.name, exc_info=True)
            result = ToolResult(success=False, error=f"tool {call.name!r} failed: "
                                f"{type(exc).__name__}: {exc}", safety=tool.safety)
        outcome = ToolCallOutcome(call, result, started, time.perf_counter())
        self._truncate(outcome)
        await self._emit("tool_end", tool_name=call.name, tool_call_id=call.id,
                         success=outcome.result.success, at=outcome.ended_at,
                         duration=outcome.duration, output=outcome.result.to_text()[:1000])
        return outcome

    def _truncate(self, outcome: ToolCallOutcome) -> None:
        text = outcome.result.to_text()
        limit = self.max_output_chars
        if len(text) <= limit:
            return
        head = text[: limit * 3 // 4]
        tail = text[-(limit // 4) + 200:] if limit > 800 else ""
        note = (f"\n[... output truncated: {len(text) - len(head) - len(tail)} of "
                f"{len(text)} characters omitted ...]\n")
        outcome.truncated = True
        if outcome.result.success:
            outcome.result = ToolResult(success=True, data=head + note + tail,
                                        safety=outcome.result.safety,
                                        metadata={**outcome.result.metadata, "truncated": True})
        else:
            outcome.result = ToolResult(success=False, error=(head + note + tail)[7:],
                                        safety=outcome.result.safety)
