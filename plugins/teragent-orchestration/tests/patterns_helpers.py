"""Tools and hooks shared by the pattern tests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from teragent.core.types import ToolSafety
from teragent.orchestration import AgentHooks, CancellationToken
from teragent.tools.base import BaseTool, ToolResult


class BlockTool(BaseTool):
    """Blocks until cancelled; records that it started and that it was cancelled."""

    name = "block"
    description = "Wait for an external event"
    parameters_schema = {"type": "object", "properties": {}}
    _safety = ToolSafety.READ_ONLY
    _concurrency_safe = True

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.never = asyncio.Event()

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        self.started += 1
        try:
            await self.never.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return ToolResult(data="unreachable")


class Rendezvous(BaseTool):
    """Returns only once ``parties`` calls are inside it at the same time: a run
    that does not overlap its agents fails (timeout), one that does passes."""

    name = "rendezvous"
    description = "Meet the other agents"
    parameters_schema = {"type": "object", "properties": {}}
    _safety = ToolSafety.READ_ONLY
    _concurrency_safe = True

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.all_here = asyncio.Event()
        self.max_inside = 0
        self.inside = 0

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        self.arrived += 1
        self.inside += 1
        self.max_inside = max(self.max_inside, self.inside)
        if self.arrived >= self.parties:
            self.all_here.set()
        try:
            await asyncio.wait_for(self.all_here.wait(), 10)
        finally:
            self.inside -= 1
        return ToolResult(data=f"met {self.parties}")


class CancelOnTool(AgentHooks):
    """Cancels the token from another thread when ``tool`` starts."""

    def __init__(self, token: CancellationToken, tool: str = "block") -> None:
        self.token = token
        self.tool = tool

    async def on_tool_start(self, ctx: Any, agent: Any, tool_name: str,
                            arguments: dict[str, Any]) -> None:
        if tool_name == self.tool:
            t = threading.Thread(target=self.token.cancel, args=("test",))
            t.start()
            t.join()


class Recorder(AgentHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def on_start(self, ctx: Any, agent: Any) -> None:
        self.calls.append(("start", agent.name))

    async def on_end(self, ctx: Any, agent: Any, output: str) -> None:
        self.calls.append(("end", agent.name))

    async def on_handoff(self, ctx: Any, from_agent: Any, to_agent: Any) -> None:
        self.calls.append(("handoff", from_agent.name, to_agent.name))

    async def on_tool_start(self, ctx: Any, agent: Any, tool_name: str,
                            arguments: dict[str, Any]) -> None:
        self.calls.append(("tool_start", agent.name, tool_name))

    async def on_tool_end(self, ctx: Any, agent: Any, tool_name: str, success: bool,
                          output: str) -> None:
        self.calls.append(("tool_end", agent.name, tool_name))

    async def on_model_start(self, ctx: Any, agent: Any) -> None:
        self.calls.append(("model_start", agent.name))

    async def on_model_end(self, ctx: Any, agent: Any, response: Any) -> None:
        self.calls.append(("model_end", agent.name))
