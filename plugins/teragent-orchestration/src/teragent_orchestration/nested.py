"""Nesting: an agent as a tool (:class:`AgentTool`) and a whole orchestration as a
tool (:class:`OrchestratorTool`), with a bound on the nesting depth.

Both are tools like any other, so a call to them passes the parent's guards; inside,
the nested agents' own tool calls pass the guards again (an AgentTool used in an
orchestration inherits that orchestration's permission manager, hook manager,
breaker and approval gate). The depth is tracked in a context variable, so it
follows asyncio tasks: past ``max_depth`` the call fails with a tool error the
model can read instead of recursing.
"""

from __future__ import annotations

import contextvars
from typing import Any

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["AgentTool", "OrchestratorTool", "current_depth"]

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("teragent_nesting_depth",
                                                              default=0)

_INPUT_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The task to delegate"}},
    "required": ["input"],
}


def current_depth() -> int:
    """How many AgentTool/OrchestratorTool calls enclose the current task."""
    return _DEPTH.get()


class _NestedTool(BaseTool):
    _safety = ToolSafety.READ_ONLY  # the nested tool calls are guarded themselves
    _concurrency_safe = False
    parameters_schema = _INPUT_SCHEMA

    def __init__(self, name: str, description: str, max_depth: int) -> None:
        if max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        # Per-instance name/description over BaseTool's ClassVar defaults, as FunctionTool.
        self.name = name  # type: ignore[misc]
        self.description = description  # type: ignore[misc]
        self.max_depth = max_depth

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        depth = _DEPTH.get()
        if depth >= self.max_depth:
            return ToolResult(success=False, error=(
                f"{self.name}: nesting depth limit reached ({self.max_depth}); answer "
                "without delegating further."))
        token = _DEPTH.set(depth + 1)
        try:
            text = await self._delegate(str(params["input"]))
        finally:
            _DEPTH.reset(token)
        return ToolResult(success=True, data=text, safety=self._safety)

    async def _delegate(self, task: str) -> str:
        raise NotImplementedError


class AgentTool(_NestedTool):
    """Run ``agent`` as a tool: the model calls ``name(input=...)`` and reads the
    agent's final answer.

    Args:
        agent: The :class:`~teragent.orchestration.Agent` to delegate to.
        name: Tool name (default ``ask_<agent>``).
        description: Default: the agent's description.
        max_depth: Maximum nesting of AgentTools/OrchestratorTools.
        orchestrator_options: Options for the one-agent orchestration used when the
            tool is not inside an orchestration (``permission_manager=...`` etc.).
    """

    def __init__(self, agent: Any, *, name: str | None = None, description: str | None = None,
                 max_depth: int = 3, **orchestrator_options: Any) -> None:
        super().__init__(name or f"ask_{agent.name}",
                         description or agent.description or
                         f"Delegate a sub-task to the agent {agent.name!r}", max_depth)
        self.agent = agent
        self.orchestrator_options = orchestrator_options
        self.calls = 0
        self._ctx: Any = None

    def bind_context(self, ctx: Any) -> None:
        """Inherit the enclosing orchestration's guards, token and events."""
        if not self.orchestrator_options and self._ctx is None:
            self._ctx = ctx

    async def _delegate(self, task: str) -> str:
        self.calls += 1
        ctx = self._ctx
        if ctx is not None:
            if self.agent.name not in ctx.agents:
                ctx.agents[self.agent.name] = self.agent
            step = f"{ctx.next_step(self.agent.name)}@depth{_DEPTH.get()}"
            result = await ctx.run_agent(self.agent, task, step=step)
            return str(result.output)
        from teragent_orchestration.runner import RunContext
        from teragent_orchestration.orchestrator import Orchestrator

        orch = Orchestrator([self.agent], **self.orchestrator_options)
        run_ctx = RunContext(orch, task, options={}, publish=lambda e: None,
                             run_id=f"agenttool-{self.agent.name}")
        return str((await run_ctx.run_agent(self.agent, task)).output)


class OrchestratorTool(_NestedTool):
    """Run a whole :class:`~teragent.orchestration.Orchestrator` as a tool.

    Args:
        orchestrator: The nested orchestration (its own agents, pattern and guards).
        name, description: What the model sees.
        max_depth: Maximum nesting of AgentTools/OrchestratorTools.
    """

    def __init__(self, orchestrator: Any, *, name: str = "run_team",
                 description: str | None = None, max_depth: int = 3) -> None:
        agents = ", ".join(a.name for a in orchestrator.agents)
        super().__init__(name, description or (f"Delegate a task to a team of agents "
                                                f"({agents}; {orchestrator.mode})"), max_depth)
        self.orchestrator = orchestrator
        self.runs = 0
        self._unlink: Any = None

    def bind_context(self, ctx: Any) -> None:
        """Cancelling the enclosing orchestration cancels the nested one too."""
        if self._unlink is None and ctx.token is not self.orchestrator.token:
            self._unlink = ctx.token.register(self.orchestrator.token.cancel)

    async def _delegate(self, task: str) -> str:
        self.runs += 1
        result = await self.orchestrator.run(task)
        return result.final_output  # type: ignore[no-any-return]
