"""The ``think`` tool: a scratchpad the model can reason in, with no side effects."""

from __future__ import annotations

from typing import Any, ClassVar

from teragent.core.types import ToolSafety
from teragent.tools.base import ProgressCallback, ToolResult

from teragent_tools._common import TerAgentTool, ToolFailure

__all__ = ["ThinkTool"]


class ThinkTool(TerAgentTool):
    """Record a thought and return it unchanged.

    Giving the model an explicit place to reason between tool calls helps on long,
    policy-heavy tasks; nothing outside this object changes. The thoughts of this
    instance are kept in :attr:`thoughts` (the last ``max_thoughts``) for tracing.
    """

    name: ClassVar[str] = "think"
    description: ClassVar[str] = (
        "Think step by step about the task: write down reasoning, a plan, or what a tool "
        "result means. It changes nothing and fetches nothing; it only records the "
        "thought.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "description": "Your reasoning."},
        },
        "required": ["thought"],
        "additionalProperties": False,
    }
    category = "general"
    keywords: ClassVar[tuple[str, ...]] = ("think", "plan", "reason")
    data_params: ClassVar[tuple[str, ...]] = ("thought",)
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, *, max_thoughts: int = 1000) -> None:
        self.max_thoughts = max_thoughts
        self.thoughts: list[str] = []

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        thought = params["thought"]
        if not thought.strip():
            raise ToolFailure("thought is empty. Write the reasoning you want to record.")
        self.thoughts.append(thought)
        del self.thoughts[:-self.max_thoughts]
        return self.ok(thought, recorded=len(self.thoughts))
