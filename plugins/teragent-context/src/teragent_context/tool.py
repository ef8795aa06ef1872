"""The ``compact`` tool: the model asks for its own context to be compacted.

The tool does not edit the conversation itself (a tool never sees it): it asks the
current run's :class:`~teragent_context.compactor.AutoCompactor`, which compacts before
the next model call, keeping ``focus`` in the summary.
"""

from __future__ import annotations

from typing import Any

from teragent.tools.base import BaseTool, ProgressCallback, ToolResult

__all__ = ["CompactTool"]


class CompactTool(BaseTool):
    """Summarise the earlier conversation now, optionally focused on a topic."""

    name = "compact"
    description = ("Compact the conversation: earlier messages are replaced by a summary "
                   "before your next step, freeing context. Use it when the context is "
                   "long and old tool output is no longer needed. Optional 'focus': what "
                   "the summary must keep.")
    parameters_schema = {
        "type": "object",
        "properties": {"focus": {"type": "string",
                                 "description": "What the summary must preserve"}},
        "additionalProperties": False,
    }
    category = "context"
    keywords = ("compact", "context", "summarise", "summarize")
    _concurrency_safe = True
    data_params = ("focus",)  # text for the summary, never a path

    async def execute(self, params: dict[str, Any],
                      progress_callback: ProgressCallback | None = None) -> ToolResult:
        from teragent_context.compactor import current_compactor

        compactor = current_compactor()
        if compactor is None:
            return ToolResult(success=False, error=(
                "context management is off for this agent, so nothing can be compacted; "
                "enable it with [context] enabled = true in agent.toml"))
        focus = params.get("focus") or None
        compactor.request(focus)
        return ToolResult(data=("Compaction scheduled: earlier messages will be summarised "
                                "before your next step" + (f", focused on: {focus}" if focus
                                                           else "") + "."))
