"""Server events: their schema, the per-conversation log with sequence numbers, and the
mapping from an agent's :class:`~teragent.EventBus` to them.

Every event sent on a conversation's WebSocket is one JSON object with an envelope
(``type``, ``seq``, ``conversation_id``, ``ts``, and ``turn_id`` while a turn runs)
plus the fields of :data:`EVENT_FIELDS`. ``seq`` counts from 1 per conversation and has
no gaps; a client that reconnects with the last ``seq`` it saw gets every later event
the service still holds (:attr:`EventLog.capacity` per conversation).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Callable

__all__ = ["EVENT_FIELDS", "EventLog", "BusBridge", "event_schema"]

#: Server event type → its fields (besides the envelope), as documented in the README.
EVENT_FIELDS: dict[str, dict[str, str]] = {
    "ready": {"last_seq": "integer: the newest seq the service has sent (after replay)",
              "running": "boolean: a turn is in progress",
              "queued": "integer: turns waiting in the conversation's lane"},
    "turn_start": {"content": "string: the user input the turn answers",
                   "queued_behind": "integer: turns that were ahead of it"},
    "text_delta": {"content": "string: streamed text from the model"},
    "tool_call": {"tool": "string", "input": "object: the arguments", "id": "string"},
    "tool_result": {"tool": "string", "id": "string", "result": "string (truncated)",
                    "success": "boolean", "denied": "boolean: a guard refused the call"},
    "tool_approval_request": {"request_id": "string",
                              "tools": "array of {name, input, id}",
                              "timeout": "number: seconds until it counts as denied"},
    "tool_approval_result": {"request_id": "string",
                             "decision": "string: approve | deny | auto_approve | timeout",
                             "tools": "array of {name, input, id}"},
    "subagent_start": {"task": "string", "depth": "integer"},
    "subagent_end": {"summary": "string", "usage": "object", "depth": "integer"},
    "task_update": {"tasks": "array of task objects"},
    "background_result": {"notifications": "array of {task_id, status, command, result}"},
    "teammate_status": {"name": "string", "role": "string", "status": "string"},
    "compact": {"message": "string", "kind": "string: micro | auto | tool",
                "before_tokens": "integer", "after_tokens": "integer"},
    "llm_request": {"call": "integer: pairs a request with its response",
                    "agent": "string: lead or a teammate's name", "model": "string",
                    "messages": "array", "tools": "array", "max_tokens": "integer|null"},
    "llm_response": {"call": "integer", "agent": "string", "content": "string",
                     "tool_calls": "array",
                     "done": "boolean", "usage": "object"},
    "interrupted": {"usage": "object", "files": "array of changed paths",
                    "content": "string: the new input the next turn answers"},
    "done": {"usage": "object: this turn's tokens", "total_usage": "object",
             "files": "array of changed paths", "stop_reason": "string",
             "final_text": "string"},
    "error": {"message": "string"},
}


def event_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of one server event."""
    envelope = {"type": {"type": "string"}, "seq": {"type": "integer", "minimum": 1},
                "conversation_id": {"type": "string"}, "ts": {"type": "number"},
                "turn_id": {"type": ["string", "null"]}}
    variants = []
    for name, fields in EVENT_FIELDS.items():
        props: dict[str, Any] = dict(envelope)
        props["type"] = {"const": name}
        for key, desc in fields.items():
            props[key] = {"description": desc}
        variants.append({"title": name, "type": "object", "properties": props,
                         "required": ["type", "seq", "conversation_id", "ts"]})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "TerAgent service event", "oneOf": variants}


class EventLog:
    """The events of one conversation: numbered, kept for replay, fanned out to every
    connected client. Single event loop; no locking needed."""

    def __init__(self, conversation_id: str, capacity: int = 5000) -> None:
        self.conversation_id = conversation_id
        self.capacity = capacity
        self.seq = 0
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.turn_id: str | None = None

    def publish(self, type_: str, **fields: Any) -> dict[str, Any]:
        if type_ not in EVENT_FIELDS:
            raise ValueError(f"unknown server event {type_!r}")
        self.seq += 1
        event = {"type": type_, "seq": self.seq, "conversation_id": self.conversation_id,
                 "ts": time.time(), "turn_id": self.turn_id, **fields}
        self._events.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)
        return event

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def oldest(self) -> int:
        return self._events[0]["seq"] if self._events else self.seq + 1

    def subscribe(self, after: int = 0) -> tuple[asyncio.Queue[dict[str, Any] | None], int]:
        """A queue holding every kept event with ``seq > after``, then live ones.

        Returns the queue and the first seq it holds (``> after + 1`` when events the
        client missed are no longer kept)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        first = self.seq + 1
        for event in self._events:
            if event["seq"] > after:
                first = min(first, event["seq"])
                queue.put_nowait(event)
        self._subscribers.add(queue)
        return queue, first

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(queue)

    def close(self) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)
        self._subscribers.clear()


def _short(value: Any, limit: int = 4000) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class BusBridge:
    """Turns an agent's bus events into server events of one conversation.

    ``text_delta`` → ``text_delta``; ``tool_start`` → ``tool_call``; ``tool_end`` and
    ``tool_denied`` → ``tool_result``; ``compaction`` (teragent-context) → ``compact``.
    The rest (``model_start``/``model_end``, ``step_start``...) are not sent: tracing
    gets the full request and response from :class:`~.tracing.TracingProvider`.
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        #: Tool call ids announced (started or refused), so a refusal reported twice
        #: (the orchestrator and a nested run's observer) is published once.
        self.announced: set[str] = set()
        self._handlers: dict[str, Callable[..., None]] = {
            "text_delta": self._text, "tool_start": self._tool_start,
            "tool_end": self._tool_end, "tool_denied": self._tool_denied,
            "compaction": self._compaction,
        }

    def attach(self, bus: Any) -> None:
        for name, handler in self._handlers.items():
            bus.on(name, handler)

    def _text(self, text: str = "", **_: Any) -> None:
        if text:
            self.log.publish("text_delta", content=text)

    def _tool_start(self, tool_name: str = "", tool_call_id: str = "",
                    params: Any = None, **_: Any) -> None:
        self.announced.add(tool_call_id)
        self.log.publish("tool_call", tool=tool_name, id=tool_call_id, input=params or {})

    def _tool_end(self, tool_name: str = "", tool_call_id: str = "", success: bool = True,
                  output: Any = "", **_: Any) -> None:
        self.log.publish("tool_result", tool=tool_name, id=tool_call_id,
                         result=_short(output), success=bool(success), denied=False)

    def _tool_denied(self, tool_name: str = "", tool_call_id: str = "", reason: str = "",
                     **_: Any) -> None:
        if tool_call_id in self.announced:
            return
        self.announced.add(tool_call_id)
        self.log.publish("tool_result", tool=tool_name, id=tool_call_id,
                         result=_short(f"refused: {reason}"), success=False, denied=True)

    def _compaction(self, *args: Any, **kw: Any) -> None:
        """teragent-context's ``compaction`` (a ``CompactionRecord.as_event()``)."""
        message = kw.get("message") or kw.get("summary")
        if not message:
            kind = kw.get("kind") or "auto"
            parts = []
            if kw.get("before_tokens") is not None and kw.get("after_tokens") is not None:
                parts.append(f"{kw['before_tokens']} -> {kw['after_tokens']} tokens")
            if kw.get("messages_before") is not None and kw.get("messages_after") is not None:
                parts.append(f"{kw['messages_before']} -> {kw['messages_after']} messages")
            message = f"context compacted ({kind})" + (": " + ", ".join(parts) if parts else "")
        extra = {k: kw[k] for k in ("kind", "before_tokens", "after_tokens") if k in kw}
        self.log.publish("compact", message=_short(message, 1000), **extra)
