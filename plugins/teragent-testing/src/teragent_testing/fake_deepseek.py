"""A fake DeepSeek server: the OpenAI fake server plus DeepSeek's thinking-mode rules.

DeepSeek speaks OpenAI's chat-completions protocol (the ``openai_compatible`` adapter
drives it). :class:`FakeDeepSeekServer` wraps a
:class:`~teragent_testing.fake_openai.FakeOpenAIServer` and adds what DeepSeek's
documentation (api-docs.deepseek.com, "Thinking Mode") says:

- thinking mode is **on by default**; ``{"thinking": {"type": "enabled"|"disabled"}}``
  switches it, anything else is refused with 400. ``reasoning_effort`` takes
  ``minimal``/``low``/``medium``/``high``/``xhigh``/``max``/``ultra``.
- in thinking mode every answer carries ``reasoning_content`` (a scripted reply
  without one gets a generated trace); with thinking disabled none does.
- **a tool-calling turn's ``reasoning_content`` must be passed back** in every later
  request; a request that drops (or alters) it is refused with DeepSeek's 400:
  ``"The reasoning_content in the thinking mode must be passed back to the API."``
- usage carries ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens`` (from
  ``ScriptedReply.usage["cached_tokens"]``) and
  ``completion_tokens_details.reasoning_tokens``.

Use it like the OpenAI one: ``httpx.ASGITransport(app=FakeDeepSeekServer())`` or
``serve_in_thread(FakeDeepSeekServer())``; script with :meth:`script`, read
:attr:`requests`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from teragent_testing._asgi import ReplyQueue, json_body, read_body, replaying, send_json
from teragent_testing.fake_openai import (
    FakeOpenAIServer, ReasoningLedger, ScriptedReply,
)
from teragent_testing.fake_openai import generated_reasoning as _trace

__all__ = ["FakeDeepSeekServer", "REASONING_REQUIRED", "EFFORTS"]

#: DeepSeek's error message when a tool-calling turn's reasoning is not sent back.
REASONING_REQUIRED = "The reasoning_content in the thinking mode must be passed back to the API."
#: The documented ``reasoning_effort`` values (mapped to low/high/max by the server).
EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "max", "ultra")
_MARK = "_fake_deepseek_reply"


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "param": None, "code": "invalid_request_error"}}).encode()


def thinking_enabled(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return not (isinstance(thinking, dict) and thinking.get("type") == "disabled")


class FakeDeepSeekServer(ReplyQueue):
    """The ASGI app.

    Args:
        enforce_reasoning: Refuse requests that drop a tool-calling turn's reasoning
            (default ``True``, as the real API does in thinking mode).
    """

    def __init__(self, *, enforce_reasoning: bool = True) -> None:
        self.enforce_reasoning = enforce_reasoning
        super().__init__()
        self.rejected: list[str] = []
        self.ledger = ReasoningLedger()
        self.inner = FakeOpenAIServer(responder=self._prepared)
        self._prepared_replies: dict[str, ScriptedReply] = {}

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.requests.clear()
            self.rejected.clear()
            self._prepared_replies.clear()
        self.ledger.clear()
        self.inner.reset()

    def wait_for_disconnect(self, timeout: float = 10.0, count: int = 1) -> bool:
        return self.inner.wait_for_disconnect(timeout, count)

    def _prepared(self, body: dict[str, Any]) -> ScriptedReply:
        with self._lock:
            return self._prepared_replies.pop(str(body.get(_MARK)))

    def _prepare(self, body: dict[str, Any]) -> ScriptedReply:
        reply = self.next_reply(body, FakeOpenAIServer.echo)
        if reply.status >= 400 or reply.raw_body is not None:
            return reply
        if thinking_enabled(body):
            if not reply.reasoning:
                reply = dataclasses.replace(reply, reasoning=_trace(reply))
            self.ledger.record(reply)
        elif reply.reasoning:
            reply = dataclasses.replace(reply, reasoning=None)
        return reply

    def problem(self, body: dict[str, Any]) -> str | None:
        """What DeepSeek would refuse about ``body``, or ``None``."""
        thinking = body.get("thinking")
        if thinking is not None and (not isinstance(thinking, dict) or thinking.get("type")
                                     not in ("enabled", "disabled")):
            return "thinking.type must be 'enabled' or 'disabled'"
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in EFFORTS:
            return f"reasoning_effort must be one of {', '.join(EFFORTS)}"
        if self.enforce_reasoning and thinking_enabled(body):
            index = self.ledger.missing(list(body.get("messages") or []),
                                        lambda m: m.get("reasoning_content"))
            if index is not None:
                return REASONING_REQUIRED
        return None

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" \
                or not scope.get("path", "").endswith("/chat/completions"):
            await self.inner(scope, receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        body = json_body(raw)
        self.record(scope, json.loads(json.dumps(body)))  # a copy: body is rewritten below
        if not isinstance(body, dict):
            await send_json(send, 400, _error("body is not a JSON object"))
            return
        problem = self.problem(body)
        if problem:
            with self._lock:
                self.rejected.append(problem)
            await send_json(send, 400, _error(problem))
            return
        reply = self._prepare(body)
        key = f"r{id(reply)}-{len(self.requests)}"
        with self._lock:
            self._prepared_replies[key] = reply
        body[_MARK] = key
        forwarded = json.dumps(body).encode()
        replay = replaying(forwarded, receive)

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": _deepseek_usage(message["body"], reply)}
            elif message["type"] == "http.response.start":
                message = {**message, "headers": [
                    (k, v) for k, v in message.get("headers", []) if k != b"content-length"]}
            await send(message)

        await self.inner(scope, replay, rewrite)


def _rewrite_usage(usage: dict[str, Any], reply: ScriptedReply) -> dict[str, Any]:
    details = usage.pop("prompt_tokens_details", None) or {}
    cached = int(details.get("cached_tokens") or 0)
    usage["prompt_cache_hit_tokens"] = cached
    usage["prompt_cache_miss_tokens"] = max(0, int(usage.get("prompt_tokens", 0)) - cached)
    if reply.reasoning:
        usage["completion_tokens_details"] = {
            "reasoning_tokens": max(1, len(reply.reasoning) // 4)}
    return usage


def _deepseek_usage(data: bytes, reply: ScriptedReply) -> bytes:
    """Rewrite the usage of a completion body or of one SSE event into DeepSeek's shape."""
    if data.startswith(b"data: {"):
        obj = json.loads(data[len(b"data: "):].strip())
        if obj.get("usage"):
            obj["usage"] = _rewrite_usage(obj["usage"], reply)
            return b"data: " + json.dumps(obj).encode() + b"\n\n"
        return data
    if data.startswith(b"{"):
        try:
            obj = json.loads(data)
        except ValueError:
            return data
        if isinstance(obj, dict) and isinstance(obj.get("usage"), dict):
            obj["usage"] = _rewrite_usage(obj["usage"], reply)
            return json.dumps(obj).encode()
    return data
