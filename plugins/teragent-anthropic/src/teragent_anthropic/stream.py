"""Anthropic Messages streams: SSE events → the kernel's typed stream events. Pure, no I/O.

:class:`MessagesStreamAssembler` handles ``message_start``,
``content_block_start/delta/stop`` (``text_delta``, ``input_json_delta``,
``thinking_delta``, ``signature_delta``), ``message_delta``, ``message_stop``, ``ping``
and ``error``.
"""

from __future__ import annotations

import json
from typing import Any

from teragent.core.http import error_kind, error_message, typed_error
from teragent.core.tap import TAPResponse
from teragent.core.types import (
    StreamEvent, StreamFinished, TextDelta, ThinkingDelta, ToolCall, ToolCallDelta,
    ToolCallReady, ToolCallStarted, UsageUpdate,
)
from teragent.errors import StreamError, redact
from teragent_anthropic.response import STOP_REASONS, usage_from_anthropic
from teragent_openai.sse import whole_text

__all__ = ["MessagesStreamAssembler"]


class _Block:
    __slots__ = ("kind", "call_index", "id", "name", "parts", "signature", "data", "ready")

    def __init__(self, kind: str, call_index: int = -1, id: str = "", name: str = "") -> None:
        self.kind, self.call_index, self.id, self.name = kind, call_index, id, name
        self.parts: list[str] = []
        self.signature = ""
        self.data = ""  # a redacted_thinking block's encrypted payload
        self.ready = False


class MessagesStreamAssembler:
    """Turns decoded Messages SSE events into the kernel's stream events.

    Tool calls are numbered 0, 1, ... in the order they start (not by content-block
    index), matching the other adapters. Feed each event with :meth:`feed`, then call
    :meth:`finish`.
    """

    def __init__(self, *, provider: str = "", model: str = "") -> None:
        self.provider, self.model = provider, model
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.blocks: dict[int, _Block] = {}
        self.calls: list[_Block] = []
        self.raw_usage: dict[str, int] = {}
        self.stop_reason: str | None = None
        self.response_model: str | None = None
        self.started = False
        self.done = False

    def _error(self, message: str, body: str = "") -> StreamError:
        return StreamError(message, provider=self.provider, model=self.model,
                           body=body or None, retryable=True)

    def feed_sse(self, event: str, data: str) -> list[StreamEvent]:
        """Handle one SSE event (its ``event`` name and ``data`` text)."""
        if self.done or not data:
            return []
        try:
            obj = json.loads(data)
        except ValueError as exc:
            if event == "error":  # a proxy's words, not an Anthropic error object
                raise self._error("The server reported an error inside the stream: "
                                  f"{redact(data[:300])}") from None
            raise self._error(f"The stream carried malformed JSON ({exc}): "
                              f"{redact(data[:200])!r}") from None
        if not isinstance(obj, dict):
            raise self._error(f"The stream carried a non-object event: {redact(data[:200])!r}")
        return self.feed(obj)

    def _usage_event(self) -> UsageUpdate:
        usage, cached = usage_from_anthropic(self.raw_usage)
        return UsageUpdate(usage=usage, cache_hit_tokens=cached)

    def feed(self, obj: dict[str, Any]) -> list[StreamEvent]:
        kind = obj.get("type")
        if kind == "error":
            err = obj.get("error")  # an object by the docs; a string or absent from proxies
            kind_ = f"{err['type']}: " if isinstance(err, dict) and err.get("type") else ""
            text = (f"The server reported an error inside the stream: {kind_}"
                    f"{error_message(json.dumps(obj))}")
            found = error_kind(obj)
            if found in ("quota", "context", "auth"):  # overloaded/api errors: retry
                raise typed_error(found, text, provider=self.provider, model=self.model,
                                  body=json.dumps(obj)[:2000])
            raise self._error(text, json.dumps(obj)[:2000])
        if kind == "ping":
            return []
        if kind == "message_start":
            message = obj.get("message") or {}
            self.started = True
            self.response_model = message.get("model") or self.response_model
            self.raw_usage.update({k: v for k, v in (message.get("usage") or {}).items()
                                   if isinstance(v, int)})
            return [self._usage_event()] if self.raw_usage else []
        if not self.started:
            raise self._error(f"The stream sent {kind!r} before message_start.")
        if kind == "content_block_start":
            return self._block_start(int(obj.get("index", 0)), obj.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(int(obj.get("index", 0)), obj.get("delta") or {})
        if kind == "content_block_stop":
            block = self.blocks.get(int(obj.get("index", 0)))
            if block is not None and block.kind == "tool_use" and not block.ready:
                block.ready = True
                return [ToolCallReady(index=block.call_index, call=self._build(block))]
            return []
        if kind == "message_delta":
            delta = obj.get("delta") or {}
            if delta.get("stop_reason"):
                self.stop_reason = str(delta["stop_reason"])
            usage = {k: v for k, v in (obj.get("usage") or {}).items() if isinstance(v, int)}
            if usage:
                self.raw_usage.update(usage)
                return [self._usage_event()]
            return []
        if kind == "message_stop":
            self.done = True
            return []
        return []  # unknown event types are skipped, as the API docs ask

    def _block_start(self, index: int, block: dict[str, Any]) -> list[StreamEvent]:
        kind = str(block.get("type"))
        if kind == "tool_use":
            entry = _Block(kind, len(self.calls), str(block.get("id")), str(block.get("name")))
            self.calls.append(entry)
            self.blocks[index] = entry
            events: list[StreamEvent] = [ToolCallStarted(index=entry.call_index, id=entry.id,
                                                         name=entry.name)]
            initial = block.get("input")
            if initial:  # servers normally send {} and stream the JSON
                raw = json.dumps(initial)
                entry.parts.append(raw)
                events.append(ToolCallDelta(index=entry.call_index, arguments_delta=raw))
            return events
        entry = _Block(kind)
        self.blocks[index] = entry
        if kind == "redacted_thinking":
            entry.data = str(block.get("data", ""))
            return []
        if kind == "text" and block.get("text"):
            self.text.append(block["text"])
            return [TextDelta(text=block["text"])]
        if kind == "thinking" and block.get("thinking"):
            self.thinking.append(block["thinking"])
            entry.parts.append(block["thinking"])
            return [ThinkingDelta(text=block["thinking"])]
        return []

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        block = self.blocks.get(index)
        if block is None:
            raise self._error(f"content_block_delta for block {index}, which never started.")
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text", ""))
            self.text.append(text)
            return [TextDelta(text=text)] if text else []
        if kind == "input_json_delta":
            part = str(delta.get("partial_json", ""))
            block.parts.append(part)
            return [ToolCallDelta(index=block.call_index, arguments_delta=part)] if part else []
        if kind == "thinking_delta":
            text = str(delta.get("thinking", ""))
            self.thinking.append(text)
            block.parts.append(text)
            return [ThinkingDelta(text=text)] if text else []
        if kind == "signature_delta":
            block.signature += str(delta.get("signature", ""))
        return []

    @staticmethod
    def _build(block: _Block) -> ToolCall:
        return ToolCall.from_raw(block.id, block.name, whole_text(block.parts))

    def finish(self) -> list[StreamEvent]:
        if not self.done:
            raise self._error("The stream ended before it was complete (no message_stop).")
        events: list[StreamEvent] = []
        for block in self.calls:
            if not block.ready:
                block.ready = True
                events.append(ToolCallReady(index=block.call_index, call=self._build(block)))
        events.append(StreamFinished(response=self.response()))
        return events

    def response(self) -> TAPResponse:
        usage, cached = usage_from_anthropic(self.raw_usage)
        stop = self.stop_reason
        blocks = [{"type": "thinking", "thinking": whole_text(b.parts),
                   "signature": b.signature}
                  if b.kind == "thinking" else {"type": "redacted_thinking", "data": b.data}
                  for b in self.blocks.values()
                  if b.kind in ("thinking", "redacted_thinking")]
        return TAPResponse(
            raw_text=whole_text(self.text), usage=usage,
            tool_calls=[self._build(b) for b in self.calls],
            finish_reason=STOP_REASONS.get(stop, stop) if stop else None,
            cache_hit_tokens=cached, thinking_content=whole_text(self.thinking) or None,
            refusal=whole_text(self.text) if stop == "refusal" else None,
            thinking_blocks=blocks or None,
            model=self.response_model or self.model)
