"""Internal message types, tool calls, stream events and tool safety levels.

The canonical conversation format inside TerAgent is the OpenAI chat format as plain
dicts (``{"role": ..., "content": ..., "tool_calls": [...], "tool_call_id": ...}``):
it is what most vendors speak, and adapters for other protocols (Anthropic, ...)
translate it at their seam. :class:`Message` is a typed view of one such dict.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from teragent.lazy import lazy_exports

__all__ = ["ToolSafety", "MessageRole", "MessageType", "Message", "ToolCall", "TextDelta",
           "ThinkingDelta", "ToolCallStarted", "ToolCallDelta", "ToolCallReady", "UsageUpdate",
           "StreamFinished", "StreamEvent"]


class ToolSafety(str, Enum):
    """How much harm a tool call can do; drives scheduling and permissions."""

    READ_ONLY = "read_only"
    SAFE_WRITE = "safe_write"
    DESTRUCTIVE = "destructive"
    HIGH_RISK = "high_risk"


class MessageRole(str, Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class MessageType(str, Enum):
    TEXT = "text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    SUMMARY = "summary"
    ERROR = "error"


# The pydantic models live in teragent.core.messages and load on first use, so importing
# ToolSafety (every tool does) does not import pydantic (~60 ms).
__getattr__ = lazy_exports(__name__, {n: "teragent.core.messages" for n in __all__
                                      if n not in globals()}, globals())

if TYPE_CHECKING:  # pragma: no cover
    from teragent.core.messages import (
        Message, StreamEvent, StreamFinished, TextDelta, ThinkingDelta, ToolCall,
        ToolCallDelta, ToolCallReady, ToolCallStarted, UsageUpdate)
