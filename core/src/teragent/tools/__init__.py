"""Tools: base classes, the registry and the orchestrator that runs tool calls."""

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, FunctionTool, ToolPack, ToolResult, tool, validate_arguments
from teragent.tools.registry import ToolInfo, ToolRegistry

__all__ = ["BaseTool", "FunctionTool", "ToolPack", "ToolResult", "ToolSafety", "tool",
           "validate_arguments", "ToolRegistry", "ToolInfo", "ToolOrchestrator",
           "ToolCallOutcome"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in ("ToolOrchestrator", "ToolCallOutcome"):
        from teragent.tools import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(name)
