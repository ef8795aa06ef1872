"""The pydantic models of :mod:`teragent.core.types`: tool calls, messages and stream
events.

They live apart from the enums so that ``ToolSafety`` (imported by every tool) does not
load pydantic; :mod:`teragent.core.types` re-exports them on first use (issue 12,
start-up cost). Import them from :mod:`teragent.core.types`.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from teragent.core.types import MessageRole, MessageType

# Schemas are built on first use, not at import (most processes use few of these).
_DEFERRED = ConfigDict(defer_build=True)


class ToolCall(BaseModel):
    """One tool call requested by a model.

    ``arguments`` is the parsed JSON object; ``raw_arguments`` the text the model sent
    (kept so a malformed call can be reported back to the model verbatim).
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = ""
    parse_error: str | None = None

    @classmethod
    def from_raw(cls, id: str, name: str, raw_arguments: str) -> "ToolCall":
        """Build a call from the JSON text a model streamed; never raises."""
        raw = raw_arguments or ""
        if not raw.strip():
            return cls(id=id, name=name, arguments={}, raw_arguments=raw)
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            return cls(
                id=id, name=name, raw_arguments=raw,
                parse_error=f"arguments are not valid JSON: {exc.msg} at position {exc.pos}",
            )
        if not isinstance(parsed, dict):
            return cls(
                id=id, name=name, raw_arguments=raw,
                parse_error=f"arguments must be a JSON object, got {type(parsed).__name__}",
            )
        return cls(id=id, name=name, arguments=parsed, raw_arguments=raw)

    def to_openai(self) -> dict[str, Any]:
        """The call as an assistant message's ``tool_calls`` entry."""
        args = self.raw_arguments if self.parse_error else json.dumps(self.arguments)
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": args}}


class Message(BaseModel):
    """A typed view of one conversation message (OpenAI chat shape)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    role: MessageRole
    content: Any = None
    type: MessageType = MessageType.TEXT
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role.value, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.name:
            out["name"] = self.name
        return out


# --- stream events -------------------------------------------------------------------
# Adapters turn their vendor's stream into these; ``TAPAdapter.stream`` (text only) and
# the streaming tool executor are both built on them.


class TextDelta(BaseModel):
    model_config = _DEFERRED
    kind: Literal["text"] = "text"
    text: str


class ThinkingDelta(BaseModel):
    model_config = _DEFERRED
    kind: Literal["thinking"] = "thinking"
    text: str


class ToolCallStarted(BaseModel):
    model_config = _DEFERRED
    kind: Literal["tool_call_started"] = "tool_call_started"
    index: int
    id: str
    name: str


class ToolCallDelta(BaseModel):
    model_config = _DEFERRED
    kind: Literal["tool_call_delta"] = "tool_call_delta"
    index: int
    arguments_delta: str


class ToolCallReady(BaseModel):
    """A tool call whose arguments are complete (emitted as soon as that is known)."""

    model_config = _DEFERRED
    kind: Literal["tool_call_ready"] = "tool_call_ready"
    index: int
    call: ToolCall


class UsageUpdate(BaseModel):
    model_config = _DEFERRED
    kind: Literal["usage"] = "usage"
    usage: dict[str, int]
    cache_hit_tokens: int | None = None


class StreamFinished(BaseModel):
    """The last event of every successful stream; carries the assembled response."""

    model_config = _DEFERRED
    kind: Literal["finished"] = "finished"
    response: Any  # TAPResponse (Any avoids an import cycle)


StreamEvent = Union[
    TextDelta, ThinkingDelta, ToolCallStarted, ToolCallDelta, ToolCallReady,
    UsageUpdate, StreamFinished,
]
