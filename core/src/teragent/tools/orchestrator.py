"""``ToolOrchestrator``: the one guarded path every tool call takes.

Scheduling: consecutive calls to read-only, concurrency-safe tools run in parallel
(bounded by ``max_concurrent``); every other call runs alone, in the order the model
asked for it. Results come back in call order.

Each call goes through the same steps: look the tool up, parse and validate the
arguments against its schema, ask every guard (safety gate, permission managers,
permission-layer plugins, pre-execution hooks), start its tool pack, run it with a
timeout, truncate its output, run post-execution hooks, and emit events. Problems a
model causes (unknown tool, bad arguments, refusal, timeout, a tool that raises) come
back as tool errors the model can read, never as exceptions.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence, cast

from teragent.core.types import ToolCall, ToolSafety
from teragent.errors import RunCancelled
from teragent.tools.base import BaseTool, ToolResult
from teragent.tools.registry import ToolRegistry

__all__ = ["ToolOrchestrator", "ToolCallOutcome", "GuardDecision", "ToolGuard", "SafetyGate",
           "coerce_tool_call"]

logger = logging.getLogger("teragent.tools")


@dataclass
class GuardDecision:
    """A guard's answer: allow, deny (with a reason), or allow with modified params."""

    allowed: bool
    reason: str = ""
    params: dict[str, Any] | None = None
    source: str = ""


class ToolGuard(Protocol):
    """Anything consulted before a tool runs; return ``None`` for "no opinion"."""

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision | None: ...


class SafetyGate:
    """The default guard until a permission manager is configured: read-only tools
    run; writes, shell commands and destructive tools need explicit permission.

    Args:
        allow_writes: Allow ``SAFE_WRITE`` tools.
        allow_shell: Allow ``HIGH_RISK`` tools (shell commands).
        allow_destructive: Allow ``DESTRUCTIVE`` tools.
    """

    name = "safety_gate"

    def __init__(self, *, allow_writes: bool = False, allow_shell: bool = False,
                 allow_destructive: bool = False) -> None:
        self.allow_writes = allow_writes
        self.allow_shell = allow_shell
        self.allow_destructive = allow_destructive

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision | None:
        safety = tool.safety
        if safety == ToolSafety.READ_ONLY:
            return None
        if safety == ToolSafety.SAFE_WRITE and not self.allow_writes:
            return GuardDecision(False, f"tool {tool.name!r} writes files, and writes are "
                                 "not allowed in this run (enable with --allow-writes or "
                                 "[agent] allow_writes = true)", source=self.name)
        if safety == ToolSafety.HIGH_RISK and not self.allow_shell:
            return GuardDecision(False, f"tool {tool.name!r} runs shell commands, which are "
                                 "not allowed in this run (enable with --allow-shell or "
                                 "[agent] allow_shell = true)", source=self.name)
        if safety == ToolSafety.DESTRUCTIVE and not self.allow_destructive:
            return GuardDecision(False, f"tool {tool.name!r} is destructive and is not "
                                 "allowed in this run (enable with [agent] "
                                 "allow_destructive = true)", source=self.name)
        return None


class _PermissionManagerGuard:
    """Adapts a permission manager with ``acheck_tool_params``/``check_tool_params``."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.name = type(manager).__name__

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision | None:
        m = self.manager
        if hasattr(m, "note_tool_safety"):  # managers with safety-based default rules
            m.note_tool_safety(call.name, tool.safety)
        if hasattr(m, "acheck_tool_params"):
            allowed, reason = await m.acheck_tool_params(call.name, call.arguments)
        else:
            allowed, reason = m.check_tool_params(call.name, call.arguments)
        return GuardDecision(bool(allowed), reason or "", source=self.name)


class _HookManagerGuard:
    """Adapts a hook manager: ``run_hooks("pre_execute", ctx)`` → ALLOW/DENY/MODIFY."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.name = type(manager).__name__

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision | None:
        ctx: dict[str, Any] = {"tool_name": call.name, "params": dict(call.arguments),
                               "tool_call_id": call.id,
               "safety": tool.safety.value}
        decision = self.manager.run_hooks("pre_execute", ctx)
        if inspect.isawaitable(decision):
            decision = await decision
        value = getattr(decision, "value", decision)
        value = str(getattr(decision, "decision", value)).lower()
        if "deny" in value:
            reason = getattr(decision, "reason", "") or ctx.get("reason") or "denied by a hook"
            return GuardDecision(False, str(reason), source=self.name)
        if "modify" in value:
            params = getattr(decision, "params", None) or ctx.get("params")
            return GuardDecision(True, "modified by a hook",
                                 params=dict(cast("Mapping[str, Any]", params)),
                                 source=self.name)
        return None


class _LayerGuard:
    """Adapts a permission-layer plugin: ``check(tool_name, params, context)``."""

    def __init__(self, name: str, layer: Any) -> None:
        self.layer = layer
        self.name = name

    async def check(self, call: ToolCall, tool: BaseTool) -> GuardDecision | None:
        layer = self.layer
        fn = getattr(layer, "acheck", None) or getattr(layer, "check")
        out = fn(call.name, call.arguments, {"safety": tool.safety.value})
        if inspect.isawaitable(out):
            out = await out
        if out is None:
            return None
        allowed, reason = out
        if allowed is None:
            return None
        return GuardDecision(bool(allowed), reason or "", source=self.name)


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
        hook_manager: Optional hook manager (``run_hooks("pre_execute"|"post_execute")``).
        enhanced_perm_manager: Optional permission manager (``acheck_tool_params``).
        guards: Extra guards, consulted after the managers.
        safety_gate: The default gate; ``None`` disables it (only do that when a
            permission manager decides instead).
        max_concurrent: Cap on parallel read-only calls.
        timeout: Seconds per call.
        max_output_chars: Longer outputs are cut, with a note saying so.
        bus: Optional :class:`~teragent.events.EventBus` for ``tool_start``/``tool_end``.
        use_plugin_layers: Also consult permission layers registered by plugins.
    """

    def __init__(
        self,
        tool_registry: ToolRegistry,
        permission_level: int = 0,
        hook_manager: Any = None,
        enhanced_perm_manager: Any = None,
        *,
        guards: Iterable[ToolGuard] = (),
        safety_gate: SafetyGate | None | str = "default",
        max_concurrent: int = 10,
        timeout: float = 120.0,
        max_output_chars: int = 20_000,
        bus: Any = None,
        use_plugin_layers: bool = True,
    ) -> None:
        self.registry = tool_registry
        self.permission_level = permission_level
        self.hook_manager = hook_manager
        self.max_concurrent = max_concurrent
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.bus = bus
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self.guards: list[Any] = []
        if safety_gate == "default":
            safety_gate = SafetyGate()
        if isinstance(safety_gate, SafetyGate) and enhanced_perm_manager is None:
            self.guards.append(safety_gate)
        if enhanced_perm_manager is not None:
            self.guards.append(_PermissionManagerGuard(enhanced_perm_manager))
        # A manager that composes the plugin layers itself (by priority) must not have
        # them consulted a second time here.
        if use_plugin_layers and not getattr(enhanced_perm_manager, "consults_plugin_layers",
                                             False):
            self.guards.extend(self._plugin_layers())
        if hook_manager is not None:
            self.guards.append(_HookManagerGuard(hook_manager))
        self.guards.extend(guards)
        self.executed_ids: set[str] = set()

    @staticmethod
    def _plugin_layers() -> list[Any]:
        from teragent.plugins import get_host

        reg = get_host().registry("permission_layers")
        layers = []
        for name in reg.names():
            entry = reg.entry(name)
            layer = entry.resolve()
            if isinstance(layer, type):
                layer = layer()
            layers.append((entry.options.get("priority", 50), name, layer))
        return [_LayerGuard(n, layer) for _, n, layer in sorted(layers, key=lambda t: -t[0])]

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
        calls = [coerce_tool_call(c, i) for i, c in enumerate(tool_calls)]
        outcomes: list[ToolCallOutcome] = []
        for batch in self.partition(calls):
            if len(batch) == 1:
                outcomes.append(await self._execute_single(batch[0]))
            else:
                outcomes.extend(await asyncio.gather(*(self._bounded(c) for c in batch)))
        return outcomes

    async def _bounded(self, call: ToolCall) -> ToolCallOutcome:
        async with self._semaphore:
            return await self._execute_single(call)

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
        """Ask every guard; the first refusal wins, modifications accumulate."""
        modified = False
        for guard in self.guards:
            try:
                decision: GuardDecision | None = await guard.check(call, tool)
            except Exception as exc:  # noqa: BLE001 - a failing guard denies (fail closed)
                logger.warning("guard %s failed: %s", getattr(guard, "name", guard), exc)
                return GuardDecision(False, f"permission check failed: {exc}",
                                     source=getattr(guard, "name", ""))
            if decision is None:
                continue
            if not decision.allowed:
                return decision
            if decision.params is not None:
                call.arguments = decision.params
                modified = True
        return GuardDecision(True, params=call.arguments if modified else None)

    async def _execute_single(self, tool_call: Any) -> ToolCallOutcome:
        outcome = await self._run_single(tool_call)
        if outcome.metadata.get("refused") and self.hook_manager is not None:
            # Calls that never ran reach the observers too (the audit trail shows them).
            try:
                out = self.hook_manager.run_hooks("execute_denied", {
                    "tool_name": outcome.call.name, "params": outcome.call.arguments,
                    "tool_call_id": outcome.call.id, "denied": outcome.denied,
                    "reason": outcome.metadata.get("reason", ""),
                    "source": outcome.metadata.get("source", "")})
                if inspect.isawaitable(out):
                    await out
            except Exception as exc:  # noqa: BLE001 - observers never break a run
                logger.warning("execute_denied hook failed: %s", exc)
        return outcome

    async def _run_single(self, tool_call: Any) -> ToolCallOutcome:
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
                         params=call.arguments, at=time.perf_counter())
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
        if self.hook_manager is not None:
            try:
                post = self.hook_manager.run_hooks("post_execute", {
                    "tool_name": call.name, "params": call.arguments, "result": result,
                    "tool_call_id": call.id, "safety": tool.safety.value})
                if inspect.isawaitable(post):
                    await post
            except Exception as exc:  # noqa: BLE001 - post hooks observe, never break
                logger.warning("post_execute hook failed: %s", exc)
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
