"""Tools: base classes, the registry and the orchestrator that runs tool calls."""

from teragent.core.types import ToolSafety
from teragent.lazy import lazy_exports
from teragent.tools.base import BaseTool, FunctionTool, ToolPack, ToolResult, tool, validate_arguments
from teragent.tools.registry import ToolInfo, ToolRegistry

__all__ = ["BaseTool", "FunctionTool", "ToolPack", "ToolResult", "ToolSafety", "tool",
           "validate_arguments", "ToolRegistry", "ToolInfo", "ToolOrchestrator",
           "ToolCallOutcome"]


__getattr__ = lazy_exports(__name__, {"ToolOrchestrator": "teragent.tools.orchestrator",
                                      "ToolCallOutcome": "teragent.tools.orchestrator"},
                           globals())
