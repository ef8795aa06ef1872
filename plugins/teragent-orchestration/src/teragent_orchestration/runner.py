"""The orchestration core: :class:`RunContext` runs agent turns for the patterns.

A pattern (sequential, swarm, ... or a third party's) decides *which* agent runs
*when* and with what input; it never runs a model or a tool itself. It calls
:meth:`RunContext.run_agent`, which:

1. restores the step from the checkpoint or the result cache when it already ran;
2. checks the input guardrails (in parallel, fail-fast);
3. runs the turn as an :class:`~teragent.AgentLoop` with the orchestrator's permission
   manager, hook manager, circuit breaker, step budget and approval gate, so every
   tool call takes the ToolOrchestrator's guarded path;
4. ties the loop's task to the :class:`CancellationToken` (cancelling interrupts the
   model stream or tool in flight) and ends the turn when a handoff tool runs;
5. checks the output guardrails, calls the hooks, emits typed events, saves the
   checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Sequence, TypeVar, cast

from teragent.errors import RunCancelled, UnknownComponentError
from teragent.events import EventBus
from teragent_orchestration.agent import Agent, Handoff, HandoffTool
from teragent_orchestration.events import (
    AgentEndEvent, AgentSkippedEvent, AgentStartEvent, GuardrailTrippedEvent, ModelEndEvent,
    ModelStartEvent, TextDeltaEvent, ToolDeniedEvent, ToolEndEvent, ToolStartEvent,
)
from teragent_orchestration.guardrails import resolve_guardrails, run_guardrails
from teragent_orchestration.hooks import call_hooks
from teragent_orchestration.state import (
    CancellationToken,
    SharedState,
    current_task_cancelling,
)
from teragent.tools.registry import ToolRegistry

__all__ = ["RunContext", "AgentRunResult"]

logger = logging.getLogger("teragent.orchestration")
T = TypeVar("T")


@dataclass
class AgentRunResult:
    """One agent turn."""

    agent: str
    step: str
    input: str
    output: str
    stop_reason: str = "completed"
    messages: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, str] | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    ended_at: float = 0.0
    source: str = "run"  # run | checkpoint | cache

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> "AgentRunResult":
        out = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        if source:
            out.source = source
        return out


def _jsonable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return cast("list[dict[str, Any]]", json.loads(json.dumps(messages, default=str)))


class RunContext:
    """Everything one orchestration run shares; what a pattern receives.

    Attributes:
        task: The user's task.
        agents: Name → :class:`Agent`, in the order given.
        state: The :class:`SharedState`.
        token: The :class:`CancellationToken`.
        options: Pattern options (the Orchestrator's keyword options, then ``run()``'s).
        results: Every :class:`AgentRunResult`, in completion order.
        stop_reason: Set by a pattern that ends early (``"max_iterations"``, ...).
        iterations: Set by iterating patterns.
    """

    def __init__(self, orchestrator: Any, task: str, *, options: dict[str, Any],
                 publish: Callable[[Any], None], run_id: str,
                 completed: dict[str, dict[str, Any]] | None = None) -> None:
        self.orchestrator = orchestrator
        self.task = task
        self.options = options
        self.run_id = run_id
        self.agents: dict[str, Agent] = {a.name: a for a in orchestrator.agents}
        self.state: SharedState = orchestrator.state
        self.token: CancellationToken = orchestrator.token
        self.results: list[AgentRunResult] = []
        self.stop_reason = "completed"
        self.iterations: int | None = None
        self._publish = publish
        self._completed = dict(completed or {})
        self._counter = 0

    # --- for patterns -------------------------------------------------------------

    @property
    def agent_list(self) -> list[Agent]:
        return list(self.agents.values())

    def agent(self, ref: Any) -> Agent:
        """The agent named ``ref`` (or ``ref`` itself when it is an :class:`Agent`)."""
        if isinstance(ref, Agent):
            return ref
        name = str(ref)
        if name not in self.agents:
            raise UnknownComponentError("agent", name, self.agents,
                                        hint="Add it to Orchestrator(agents=[...]).")
        return self.agents[name]

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value is None else value

    def emit(self, event: Any) -> None:
        """Publish a typed event to the trace (and to ``run_stream`` consumers)."""
        self._publish(event)

    def check_cancelled(self) -> None:
        self.token.raise_if_cancelled()

    async def gather(self, *aws: Awaitable[T]) -> list[T]:
        """Run concurrently; on the first failure cancel the rest and raise it."""
        tasks = [asyncio.ensure_future(a) for a in aws]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def next_step(self, label: str) -> str:
        self._counter += 1
        return f"{self._counter}:{label}"

    # --- one agent turn -----------------------------------------------------------

    async def run_agent(self, agent: Agent | str, input: str, *, step: str | None = None,
                        history: list[dict[str, Any]] | None = None,
                        handoffs: Sequence[Handoff] | bool = False,
                        extra_tools: Iterable[Any] = ()) -> AgentRunResult:
        """Run one turn of ``agent`` on ``input`` through an AgentLoop.

        Args:
            step: A key unique within the run (checkpoints skip completed keys);
                default: a counter plus the agent's name.
            history: Earlier conversation (no system message) the agent sees.
            handoffs: ``True`` offers the agent's own handoffs as tools; a list offers
                those. When the model calls one, the turn ends and ``result.handoff``
                names the target.
            extra_tools: More tools for this turn only.
        """
        agent = self.agent(agent)
        step = step or self.next_step(agent.name)
        self.check_cancelled()
        done = self._completed.get(step)
        if done is not None:
            result = AgentRunResult.from_dict(done, source="checkpoint")
            self.emit(AgentSkippedEvent(agent.name, step, "checkpoint"))
            self.results.append(result)
            return result
        cache = self.orchestrator.cache
        cache_key = None
        if cache is not None:
            cache_key = cache.make_key(agent.name, input, history or [])
            hit = cache.get(cache_key)
            if hit is not None:
                result = AgentRunResult.from_dict(hit, source="cache")
                result.step = step
                self.emit(AgentSkippedEvent(agent.name, step, "cache"))
                self.results.append(result)
                await self._completed_step(result)
                return result
        guardrails = resolve_guardrails([*self.orchestrator.guardrails, *agent.guardrails])
        await run_guardrails(guardrails, "input", input, self, agent=agent.name,
                             on_trip=self._on_trip(agent))
        hooks = [agent.hooks, self.orchestrator.hooks]
        await call_hooks(hooks, "on_start", self, agent)
        started = time.perf_counter()
        self.emit(AgentStartEvent(agent.name, input, step=step, at=started))
        result = await self._run_loop(agent, input, step, history, handoffs, extra_tools, hooks)
        result.started_at = started
        if result.handoff is None:
            await run_guardrails(guardrails, "output", result.output, self, agent=agent.name,
                                 on_trip=self._on_trip(agent))
        result.ended_at = time.perf_counter()
        await call_hooks(hooks, "on_end", self, agent, result.output)
        self.emit(AgentEndEvent(agent.name, result.output, result.stop_reason, step=step,
                                started_at=started, at=result.ended_at))
        self.results.append(result)
        if cache is not None and cache_key is not None and result.handoff is None:
            cache.set(cache_key, result.to_dict())
        await self._completed_step(result)
        return result

    def _on_trip(self, agent: Agent) -> Callable[[Any, Any], Awaitable[None]]:
        async def on_trip(guardrail: Any, res: Any) -> None:
            self.emit(GuardrailTrippedEvent(agent.name, guardrail.name, guardrail.kind,
                                            res.reason))
        return on_trip

    async def _completed_step(self, result: AgentRunResult) -> None:
        self._completed[result.step] = result.to_dict()
        await self.orchestrator._save_checkpoint(self)

    def completed_steps(self) -> dict[str, dict[str, Any]]:
        return dict(self._completed)

    def _registry(self, agent: Agent, handoffs: Sequence[Handoff],
                  extra_tools: Iterable[Any],
                  on_handoff: Callable[[Handoff, str], None]) -> ToolRegistry:
        tools = agent.tools
        if isinstance(tools, ToolRegistry):
            registry = tools.filtered(tools.list_tool_names())
        else:
            registry = ToolRegistry()
            for tool in agent.tool_list():
                registry.register(tool)
        for tool in extra_tools:
            registry.register(tool, replace=True)
        for handoff in handoffs:
            self.agent(handoff.target_name)  # fail early on a handoff to nowhere
            registry.register(HandoffTool(handoff, on_handoff), replace=True)
        for tool in registry.list_tools():
            bind = getattr(tool, "bind_context", None)
            if bind is not None:
                bind(self)
        return registry

    async def _run_loop(self, agent: Agent, input: str, step: str,
                        history: list[dict[str, Any]] | None,
                        handoffs: Sequence[Handoff] | bool, extra_tools: Iterable[Any],
                        hooks: list[Any]) -> AgentRunResult:
        from teragent.agent.loop import AgentLoop

        chosen = list(agent.handoffs) if handoffs is True else list(handoffs or [])
        requested: list[tuple[Handoff, str]] = []
        holder: list[AgentLoop] = []

        def on_handoff(handoff: Handoff, reason: str) -> None:
            if not requested:
                requested.append((handoff, reason))
            if holder:
                holder[0].cancel()  # ends the turn at the loop's next check (no extra call)

        registry = self._registry(agent, chosen, extra_tools, on_handoff)
        bus = EventBus(history_size=0)
        self._wire(bus, agent, hooks)
        orch = self.orchestrator
        runtime = orch.runtime_for(agent, bus)
        if runtime.path_policy is not None:
            registry.bind_path_policy(runtime.path_policy)
        loop = AgentLoop(
            agent.provider, registry, orch.loop_config_for(agent),
            step_budget=orch.step_budget, bus=bus, runtime=runtime,
            streaming_executor=orch.streaming_executor_for(registry),
            workspace=orch.workspace)
        holder.append(loop)
        task = asyncio.ensure_future(loop.run(input, history=list(history or [])))
        unregister = self.token.cancel_task_on_cancel(task)
        outcome: Any = None
        try:
            outcome = await task
        except asyncio.CancelledError:
            if current_task_cancelling() or not self.token.is_cancelled:
                raise
            raise RunCancelled(f"the orchestration was cancelled during agent "
                               f"{agent.name!r}", state={"agent": agent.name, "step": step})
        except RunCancelled:
            if self.token.is_cancelled or not requested:
                raise RunCancelled(f"the orchestration was cancelled during agent "
                                   f"{agent.name!r}", state={"agent": agent.name, "step": step})
        finally:
            unregister()
            await bus.drain()
        messages = _jsonable(loop.history)
        result = AgentRunResult(agent.name, step, input, "", messages=messages)
        if outcome is not None:
            result.output = outcome.final_text
            result.stop_reason = outcome.stop_reason
            result.usage = dict(outcome.usage)
            result.tool_calls = outcome.as_dict()["tool_calls"]
        if requested:
            handoff, reason = requested[0]
            result.stop_reason = "handoff"
            result.handoff = {"target": handoff.target_name, "tool_name": handoff.tool_name,
                              "reason": reason}
            texts = [m.get("content") for m in messages
                     if m.get("role") == "assistant" and m.get("content")]
            result.output = str(texts[-1]) if texts else ""
        return result

    def _wire(self, bus: EventBus, agent: Agent, hooks: list[Any]) -> None:
        name = agent.name

        def text(text: str = "", **_: Any) -> None:
            self.emit(TextDeltaEvent(name, text))

        def model_start(at: float | None = None, **_: Any) -> Awaitable[None]:
            self.emit(ModelStartEvent(name, at=at or time.perf_counter()))
            return call_hooks(hooks, "on_model_start", self, agent)

        def model_end(response: Any = None, at: float | None = None, **_: Any) -> Awaitable[None]:
            calls = [c.name for c in (getattr(response, "tool_calls", None) or [])]
            self.emit(ModelEndEvent(name, getattr(response, "raw_text", "") or "", calls,
                                    at=at or time.perf_counter()))
            return call_hooks(hooks, "on_model_end", self, agent, response)

        def tool_start(tool_name: str = "", tool_call_id: str = "",
                       params: dict[str, Any] | None = None, at: float | None = None,
                       **_: Any) -> Awaitable[None]:
            self.emit(ToolStartEvent(name, tool_name, tool_call_id, dict(params or {}),
                                     at=at or time.perf_counter()))
            return call_hooks(hooks, "on_tool_start", self, agent, tool_name,
                              dict(params or {}))

        def tool_end(tool_name: str = "", tool_call_id: str = "", success: bool = False,
                     output: str = "", at: float | None = None, **_: Any) -> Awaitable[None]:
            self.emit(ToolEndEvent(name, tool_name, tool_call_id, success, output,
                                   at=at or time.perf_counter()))
            return call_hooks(hooks, "on_tool_end", self, agent, tool_name, success, output)

        def tool_denied(tool_name: str = "", tool_call_id: str = "", reason: str = "",
                        source: str = "", **_: Any) -> None:
            self.emit(ToolDeniedEvent(name, tool_name, tool_call_id, reason, source))

        bus.on("text_delta", text)
        bus.on("model_start", model_start)
        bus.on("model_end", model_end)
        bus.on("tool_start", tool_start)
        bus.on("tool_end", tool_end)
        bus.on("tool_denied", tool_denied)

