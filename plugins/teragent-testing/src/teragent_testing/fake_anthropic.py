"""A fake Anthropic Messages API server: an ASGI app speaking the real wire format.

Scripted with the same vendor-neutral :class:`~teragent_testing.fake_openai.ScriptedReply`
as the fake OpenAI server, usable in-process (``httpx.ASGITransport(app=server)``, base
URL ``http://fake/v1``) or on loopback (``serve_in_thread(server)`` from
:mod:`teragent_testing.fake_openai`)::

    server = FakeAnthropicServer()
    server.script(ScriptedReply(tool_calls=[("read_file", {"path": "a"})]))

It answers ``POST .../messages`` with a ``message`` object, or with the Messages SSE
stream (``message_start``, ``ping``, ``content_block_start``/``delta``/``stop`` with
``thinking_delta``+``signature_delta``, ``text_delta`` and ``input_json_delta``,
``message_delta`` with ``stop_reason`` and usage, ``message_stop``) when the body says
``"stream": true``. Like the real API it refuses (400, ``invalid_request_error``) a
request without the ``anthropic-version`` header or ``max_tokens``, a conversation
that does not start with a user turn or does not alternate, and a ``tool_result``
whose ``tool_use_id`` is not a ``tool_use`` of the assistant turn just before it.

Usage mapping: ``ScriptedReply.usage["prompt_tokens"]`` is the *whole* prompt; the
``cached_tokens`` part of it is reported as ``cache_read_input_tokens`` and the rest as
``input_tokens``.

Thinking: an answer scripted with ``reasoning`` starts with a signed thinking block.
Anthropic's extended-thinking guide requires that block back, unchanged, on the
assistant turn whose tool results follow; like the API, the fake refuses (400) a
final assistant turn with ``tool_use`` that lost the thinking block it was given.
``ScriptedReply.raw_body`` answers with that exact JSON (and ``status``).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from teragent_testing._asgi import ReplyQueue, header_pairs, http_body, json_body, send_json
from teragent_testing._asgi import estimate_tokens as _estimate
from teragent_testing.fake_openai import (
    ReasoningLedger, ScriptedReply, _pieces,
)

__all__ = ["FakeAnthropicServer", "encode_message", "encode_message_stream",
           "validate_request", "FINISH_TO_STOP"]

#: ScriptedReply.finish_reason (OpenAI words) → Anthropic stop_reason.
FINISH_TO_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens",
                  "content_filter": "refusal"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 529: "overloaded_error"}


def _usage(reply: ScriptedReply, request: dict[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        prompt = int(reply.usage.get("prompt_tokens", 0))
        completion = int(reply.usage.get("completion_tokens", 0))
        cached = int(reply.usage.get("cached_tokens", 0) or 0)
    else:
        prompt = _estimate(json.dumps(request.get("messages") or [])) or 1
        completion = (_estimate(reply.text) + sum(_estimate(json.dumps(a))
                                                  for _, a, _ in reply.calls())) or 1
        cached = 0
    return {"input_tokens": prompt - cached, "output_tokens": completion,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


def _stop_reason(reply: ScriptedReply) -> str:
    finish = reply.resolved_finish_reason()
    return FINISH_TO_STOP.get(finish, finish)


def _content(reply: ScriptedReply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.reasoning:
        blocks.append({"type": "thinking", "thinking": reply.reasoning,
                       "signature": "fake-signature"})
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for name, args, cid in reply.calls():
        blocks.append({"type": "tool_use", "id": cid, "name": name, "input": args})
    return blocks


def encode_message(reply: ScriptedReply, request: dict[str, Any],
                   *, message_id: str = "msg_fake") -> bytes:
    """A non-streamed ``message`` body for ``reply``."""
    return json.dumps({
        "id": message_id, "type": "message", "role": "assistant",
        "model": reply.model or request.get("model") or "fake-model",
        "content": _content(reply), "stop_reason": _stop_reason(reply),
        "stop_sequence": None, "usage": _usage(reply, request),
    }).encode()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def encode_message_stream(reply: ScriptedReply, request: dict[str, Any],
                          *, message_id: str = "msg_fake") -> list[bytes]:
    """The SSE events (one ``bytes`` each) streaming ``reply``."""
    if reply.raw_stream is not None:
        return list(reply.raw_stream)
    usage = _usage(reply, request)
    start_usage = {**usage, "output_tokens": 1}
    events = [_event("message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant",
        "model": reply.model or request.get("model") or "fake-model", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}}),
        _event("ping", {"type": "ping"})]
    index = 0

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        events.append(_event("content_block_start", {"type": "content_block_start",
                                                     "index": index, "content_block": start}))
        for delta in deltas:
            events.append(_event("content_block_delta", {"type": "content_block_delta",
                                                         "index": index, "delta": delta}))
        events.append(_event("content_block_stop", {"type": "content_block_stop",
                                                    "index": index}))
        index += 1

    if reply.reasoning:
        block({"type": "thinking", "thinking": "", "signature": ""},
              [{"type": "thinking_delta", "thinking": p}
               for p in _pieces(reply.reasoning, reply.chunk_size)]
              + [{"type": "signature_delta", "signature": "fake-signature"}])
    if reply.text:
        block({"type": "text", "text": ""},
              [{"type": "text_delta", "text": p} for p in _pieces(reply.text, reply.chunk_size)])
    for name, args, cid in reply.calls():
        block({"type": "tool_use", "id": cid, "name": name, "input": {}},
              [{"type": "input_json_delta", "partial_json": p}
               for p in _pieces(json.dumps(args), reply.chunk_size)])
    if reply.stream_error is not None:
        events.insert(1, _event("error", {"type": "error", "error": {
            "type": str(reply.stream_error.get("type", "overloaded_error")),
            "message": str(reply.stream_error.get("message", "Overloaded"))}}))
    if reply.hold_open:
        return events
    events.append(_event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]}}))
    if not reply.omit_done:
        events.append(_event("message_stop", {"type": "message_stop"}))
    return events


def _error_json(status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def validate_request(body: Any, headers: dict[str, str]) -> str | None:
    """What the real API would refuse about this request, or ``None``."""
    if "anthropic-version" not in headers:
        return "anthropic-version: header is required"
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if not body.get("model"):
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    previous: dict[str, Any] | None = None
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if i == 0 and role != "user":
            return "messages: first message must use the \"user\" role"
        if previous is not None and previous.get("role") == role:
            return "messages: roles must alternate between \"user\" and \"assistant\""
        content = msg.get("content")
        blocks = content if isinstance(content, list) else []
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            prev_blocks = previous.get("content") if previous else None
            uses = {b.get("id") for b in prev_blocks or []
                    if isinstance(b, dict) and b.get("type") == "tool_use"}
            for r in results:
                if r.get("tool_use_id") not in uses:
                    return (f"messages.{i}.content: unexpected `tool_use_id` found in "
                            f"`tool_result` blocks: {r.get('tool_use_id')}. Each "
                            "`tool_result` block must have a corresponding `tool_use` "
                            "block in the previous message.")
        previous = msg
    for tool in body.get("tools") or []:
        if "name" not in tool or "input_schema" not in tool:
            return "tools: each tool needs 'name' and 'input_schema'"
    return None


class FakeAnthropicServer(ReplyQueue):
    """The ASGI app. Script replies with :meth:`script`; read :attr:`requests`.

    Args:
        responder: ``f(request_body) -> ScriptedReply`` for an empty queue (default:
            echo the last user text).
        strict: Answer 500 when a request arrives with nothing scripted.
        validate: Refuse malformed requests as the real API does (default ``True``).
    """

    def __init__(self, *, responder: Callable[[dict[str, Any]], ScriptedReply] | None = None,
                 strict: bool = False, validate: bool = True) -> None:
        self.responder, self.strict, self.validate = responder, strict, validate
        super().__init__()
        self.ledger = ReasoningLedger()
        self._counter = 0

    def thinking_problem(self, body: dict[str, Any]) -> str | None:
        """The 400 Anthropic sends when the final assistant turn with ``tool_use``
        dropped (or altered) the thinking block it was answered with."""
        messages = body.get("messages") or []
        turns = [(i, m) for i, m in enumerate(messages) if m.get("role") == "assistant"]
        if not turns:
            return None
        index, last = turns[-1]
        blocks = [b for b in (last.get("content") or []) if isinstance(b, dict)]
        uses = [b for b in blocks if b.get("type") == "tool_use"]
        if not uses:
            return None
        want = self.ledger.expected({"tool_calls": [{"id": uses[0].get("id")}]})
        if want is None:
            return None
        first = blocks[0]
        if first.get("type") == "thinking" and first.get("thinking") == want \
                and first.get("signature") == "fake-signature":
            return None
        return (f"messages.{index}.content.0.type: Expected `thinking` or "
                f"`redacted_thinking`, but found `{first.get('type')}`. When `thinking` "
                "is enabled, a final `assistant` message must start with a thinking "
                "block (before the last set of `tool_use` and `tool_result` "
                "blocks).")

    @staticmethod
    def echo(body: dict[str, Any]) -> ScriptedReply:
        for msg in reversed(body.get("messages") or []):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, list):
                    content = "".join(b.get("text", "") for b in content
                                      if isinstance(b, dict) and b.get("type") == "text")
                return ScriptedReply(text=f"echo: {content}")
        return ScriptedReply(text="echo: ")

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        raw = await http_body(scope, receive, send)
        if raw is None:
            return
        path = scope.get("path", "")
        if scope.get("method") != "POST" or not path.endswith("/messages"):
            await send_json(send, 404, _error_json(404, f"no route for {path}"))
            return
        body = json_body(raw)
        if body is None:
            await send_json(send, 400, _error_json(400, "body is not valid JSON"))
            return
        headers = self.record(scope, body, path=path).headers
        if self.validate:
            problem = validate_request(body, headers) or self.thinking_problem(body)
            if problem:
                await send_json(send, 400, _error_json(400, problem))
                return
        reply = self.next_reply(body, self.responder or (None if self.strict else self.echo))
        if reply is None:
            await send_json(send, 500, _error_json(
                500, "FakeAnthropicServer(strict=True) got a request with no scripted reply"))
            return
        extra = header_pairs(reply.headers)
        if reply.raw_body is not None:
            await send_json(send, reply.status, json.dumps(reply.raw_body).encode(), extra)
            return
        self.ledger.record(reply)
        if reply.status >= 400:
            err = reply.error_body
            data = (_error_json(reply.status, f"fake error {reply.status}") if err is None
                    else json.dumps(err).encode() if isinstance(err, (dict, list))
                    else str(err).encode())
            await send_json(send, reply.status, data, extra)
            return
        self._counter += 1
        message_id = f"msg_fake_{self._counter}"
        if not body.get("stream"):
            await send_json(send, 200, encode_message(reply, body, message_id=message_id),
                             extra)
            return
        await self.send_stream(receive, send,
                               encode_message_stream(reply, body, message_id=message_id),
                               headers=extra, hold_open=reply.hold_open)

