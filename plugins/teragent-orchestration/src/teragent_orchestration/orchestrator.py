"""``Orchestrator``: runs several agents through a pattern looked up in the plugin
registry (``get_host().registry("patterns")``).

The five standard patterns (sequential, swarm, parallel, conditional, loop) register
through this plugin's ``teragent_register_patterns`` hook; a third party adds a
pattern the same way.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, AsyncIterator, Iterable

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.errors import RunCancelled, UserError
from teragent_orchestration.agent import Agent
from teragent_orchestration.events import RunEndEvent, RunErrorEvent
from teragent_orchestration.runner import AgentRunResult, RunContext
from teragent_orchestration.state import (
    CancellationToken,
    SharedState,
    current_task_cancelling,
)

__all__ = ["Orchestrator", "OrchestrationMode", "OrchestrationResult"]


class OrchestrationMode(str, Enum):
    """The standard patterns (any other registered pattern name works as a string)."""

    SEQUENTIAL = "sequential"
    SWARM = "swarm"
    PARALLEL = "parallel"
    CONDITIONAL = "conditional"
    LOOP = "loop"


@dataclass
class OrchestrationResult:
    """What :meth:`Orchestrator.run` returns."""

    final_output: str
    mode: str
    run_id: str
    agent_results: list[AgentRunResult] = field(default_factory=list)
    trace: list[Any] = field(default_factory=list)
    stop_reason: str = "completed"
    iterations: int | None = None
    duration: float = 0.0

    @property
    def agent_outputs(self) -> dict[str, str]:
        """Each agent's last output."""
        return {r.agent: r.output for r in self.agent_results}

    def results_for(self, agent: str) -> list[AgentRunResult]:
        return [r for r in self.agent_results if r.agent == agent]

    def __str__(self) -> str:
        return self.final_output


class Orchestrator:
    """Coordinates ``agents`` with the pattern named by ``mode``.

    Args:
        agents: The :class:`Agent` s (names must be unique).
        mode: An :class:`OrchestrationMode` or a registered pattern name.
        config: Optional :class:`~teragent_orchestration.orchestration_config.OrchestrationConfig`
            (its pattern settings become default options).
        permission_manager, hook_manager, circuit_breaker, step_budget: Passed to every
            agent's :class:`~teragent.AgentLoop` (``None`` permission manager: the
            loop's default, i.e. an installed permissions plugin or the SafetyGate).
        approval_gate: An :class:`~teragent_permissions.approval.ApprovalGate` consulted
            for every tool call (it decides which tools need a human).
        guardrails: Guardrails applied to every agent (besides each agent's own).
        hooks: :class:`~teragent.orchestration.AgentHooks` for every agent.
        state, cancellation_token: Shared by the run (created if omitted).
        checkpoint: An :class:`~teragent.orchestration.OrchestrationCheckpoint`; with a
            ``run_id`` a rerun resumes after the completed agent steps.
        cache: An optional :class:`~teragent.orchestration.ResultCache`.
        loop_config: Base :class:`~teragent.config.AgentLoopConfig` of every agent.
        streaming_tools: Start read-only tools while the model streams
            (:class:`~teragent.streaming.StreamingToolExecutor`).
        workspace: The agents' working directory.
        **options: Pattern options (``max_iterations``, ``merge``, ``router``, ...).
    """

    def __init__(
        self,
        agents: Iterable[Agent],
        mode: OrchestrationMode | str = OrchestrationMode.SEQUENTIAL,
        *,
        config: Any = None,
        permission_manager: Any = None,
        hook_manager: Any = None,
        circuit_breaker: Any = None,
        step_budget: Any = None,
        approval_gate: Any = None,
        guardrails: Iterable[Any] = (),
        hooks: Any = None,
        state: SharedState | None = None,
        cancellation_token: CancellationToken | None = None,
        checkpoint: Any = None,
        cache: Any = None,
        loop_config: AgentLoopConfig | None = None,
        streaming_tools: bool | None = None,
        workspace: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        name: str = "orchestrator",
        **options: Any,
    ) -> None:
        self.agents = list(agents)
        if not self.agents:
            raise UserError("An Orchestrator needs at least one agent: "
                            "Orchestrator(agents=[Agent(name='a', provider=model)]).")
        seen: set[str] = set()
        for agent in self.agents:
            if not isinstance(agent, Agent):
                raise UserError(f"{agent!r} is not a teragent.orchestration.Agent.")
            if agent.name in seen:
                raise UserError(f"Two agents are named {agent.name!r}; agent names must be "
                                "unique within an orchestration.")
            seen.add(agent.name)
        self.config = config
        defaults: dict[str, Any] = config.pattern_options() if config is not None else {}
        self.mode = str(getattr(mode, "value", mode)).lower()
        self.options = {**defaults, **options}
        self.permission_manager = permission_manager
        self.hook_manager = hook_manager
        self.circuit_breaker = circuit_breaker
        self.step_budget = step_budget
        self.approval_gate = approval_gate
        self.guardrails = list(guardrails)
        self.hooks = hooks
        self.state = state or SharedState()
        self.token = cancellation_token or CancellationToken()
        self.checkpoint = checkpoint
        if self.checkpoint is None and config is not None and config.checkpoint_dir:
            from teragent_orchestration.checkpoint import OrchestrationCheckpoint

            self.checkpoint = OrchestrationCheckpoint(config.checkpoint_dir)
        self.cache = cache
        self.loop_config = loop_config or AgentLoopConfig()
        self.streaming_tools = bool(streaming_tools if streaming_tools is not None
                                    else getattr(config, "streaming_tools", False))
        self.workspace = os.fspath(workspace) if workspace else None
        self.run_id = run_id
        self.name = name
        self.last_context: RunContext | None = None
        self._pattern: Any = None
        self._agent_toml: dict[str, Any] | None = None

    # --- components for the runner ------------------------------------------------

    @property
    def pattern(self) -> Any:
        """The pattern object for ``mode``, from the plugin registry."""
        if self._pattern is None:
            from teragent_orchestration._registry import registry

            target = registry("patterns").get(self.mode)
            self._pattern = target() if isinstance(target, type) else target
        return self._pattern

    def loop_config_for(self, agent: Agent) -> AgentLoopConfig:
        if agent.loop_config is not None:
            return agent.loop_config  # type: ignore[no-any-return]
        update: dict[str, Any] = {}
        if agent.instructions:
            update["system_prompt"] = agent.instructions.replace("{", "{{").replace("}", "}}")
        if agent.max_steps is not None:
            update["max_steps"] = agent.max_steps
        return self.loop_config.model_copy(update=update)

    def tool_guards(self) -> list[Any]:
        return [self.approval_gate] if self.approval_gate is not None else []

    def runtime_for(self, agent: Agent, bus: Any) -> Any:
        """The guarded runtime of one agent turn, from the composition root: the same
        chain a CLI or library agent gets (``agent.toml`` loaded once per
        orchestrator), with this orchestration's manager, hooks, breaker and approval
        gate. Nested inside another run, the parent's guards come first."""
        from teragent.compose import build_runtime

        if self._agent_toml is None:
            from teragent.config.loader import load_full_config

            self._agent_toml = load_full_config()
        if self.circuit_breaker is None:
            # One breaker for the whole orchestration: failures add up across turns.
            from teragent.plugins import get_host

            kit = get_host().hook.teragent_build_reliability(
                config=self._agent_toml, loop_config=self.loop_config, bus=bus)
            breakers = getattr(kit, "breakers", None) or []
            self.circuit_breaker = breakers[0] if breakers else False
        return build_runtime(
            self._agent_toml, workspace=self.workspace, loop_config=self.loop_config_for(agent),
            permission_manager=self.permission_manager, hook_manager=self.hook_manager,
            approval_gate=self.approval_gate, circuit_breaker=self.circuit_breaker, bus=bus)

    def streaming_executor_for(self, registry: Any) -> Any:
        if not self.streaming_tools:
            return None
        from teragent.streaming import StreamingToolExecutor

        return StreamingToolExecutor(registry)

    async def _save_checkpoint(self, ctx: RunContext) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.save(ctx.run_id, {
            "mode": self.mode, "task": ctx.task, "status": "running",
            "completed": ctx.completed_steps(), "state": self.state.snapshot()})

    # --- running ------------------------------------------------------------------

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel the run in progress (thread-safe)."""
        self.token.cancel(reason)

    async def run(self, task: str, *, run_id: str | None = None,
                  **options: Any) -> OrchestrationResult:
        """Run the orchestration on ``task``.

        Args:
            run_id: Identifies the run for checkpoints; resuming uses the same id.
            **options: Pattern options for this run (e.g. ``max_iterations=3``).
        """
        trace: list[Any] = []
        return await self._execute(task, run_id, options, trace.append, trace)

    async def run_stream(self, task: str, *, run_id: str | None = None,
                         **options: Any) -> AsyncIterator[Any]:
        """Run and yield typed events as they happen (last: ``run_end``, or
        ``run_error`` followed by the exception)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        trace: list[Any] = []

        def publish(event: Any) -> None:
            trace.append(event)
            queue.put_nowait(event)

        runner = asyncio.ensure_future(self._execute(task, run_id, options, publish, trace))
        runner.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                yield event
            while not queue.empty():
                event = queue.get_nowait()
                if event is not None:
                    yield event
            runner.result()  # re-raise the run's error, if any
        finally:
            if not runner.done():
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)

    async def _execute(self, task: str, run_id: str | None, options: dict[str, Any],
                       publish: Any, trace: list[Any]) -> OrchestrationResult:
        if not isinstance(task, str) or not task.strip():
            raise UserError("The task is empty; pass what the agents should do, e.g. "
                            "await orchestrator.run(\"Build a REST API\").")
        pattern = self.pattern
        run_id = run_id or self.run_id or uuid.uuid4().hex[:16]
        completed: dict[str, Any] = {}
        if self.checkpoint is not None:
            saved = self.checkpoint.restore(run_id)
            if saved is not None:
                if saved.get("task") != task or saved.get("mode") != self.mode:
                    raise UserError(f"The checkpoint {run_id!r} belongs to another task or "
                                    "mode; use a new run_id or delete the checkpoint.")
                completed = dict(saved.get("completed") or {})
                self.state.restore(saved.get("state") or {})
        ctx = RunContext(self, task, options={**self.options, **options}, publish=publish,
                         run_id=run_id, completed=completed)
        self.last_context = ctx
        started = time.perf_counter()
        try:
            final = await pattern.run(ctx, task)
        except asyncio.CancelledError:
            if self.token.is_cancelled and not current_task_cancelling():
                error = RunCancelled("the orchestration was cancelled",
                                     state={"run_id": run_id})
                publish(RunErrorEvent(str(error), type(error).__name__))
                raise error from None
            raise
        except Exception as exc:
            publish(RunErrorEvent(str(exc), type(exc).__name__))
            raise
        final = "" if final is None else str(final)
        publish(RunEndEvent(final, ctx.stop_reason))
        if self.checkpoint is not None:
            self.checkpoint.save(run_id, {
                "mode": self.mode, "task": task, "status": "done", "final_output": final,
                "completed": ctx.completed_steps(), "state": self.state.snapshot()})
        return OrchestrationResult(final, self.mode, run_id, list(ctx.results), trace,
                                   ctx.stop_reason, ctx.iterations,
                                   time.perf_counter() - started)
