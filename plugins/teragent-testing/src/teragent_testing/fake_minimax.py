"""A fake MiniMax server, composed from the OpenAI and Anthropic fake servers.

Routes (``serve_in_thread(FakeMiniMaxServer(), path="/v1")``):

- ``POST /v1/chat/completions`` → a :class:`~teragent_testing.fake_openai.FakeOpenAIServer`;
- ``POST /anthropic/v1/messages`` → a
  :class:`~teragent_testing.fake_anthropic.FakeAnthropicServer`;
- ``POST /v1/desktop/command`` → the next scripted desktop answer
  (:meth:`FakeMiniMaxServer.script_desktop`), or 404 when ``desktop=False``.

Both chat interfaces answer from one shared queue of
:class:`~teragent_testing.fake_openai.ScriptedReply` (:meth:`FakeMiniMaxServer.script`).
With ``rate_limit=N`` every response carries ``x-ratelimit-limit-requests``,
``x-ratelimit-remaining-requests`` and ``x-ratelimit-reset-requests`` (seconds), and the
request after the N-th in a window is refused with 429 and ``Retry-After``.
:attr:`FakeMiniMaxServer.requests` records every request as the client sent it.

Thinking, as platform.minimax.io documents it for the OpenAI interface: M3 thinks
unless ``thinking.type`` is ``"disabled"`` (a reply scripted without ``reasoning`` gets
a generated one); with ``"reasoning_split": true`` the reasoning comes in
``message.reasoning_details`` / streamed ``delta.reasoning_details`` (incremental
pieces, as the API sends them), otherwise as a ``<think>…</think>`` block at the start
of ``content``. The docs require the whole assistant message back in multi-turn tool
calls; the fake refuses (HTTP 400, ``base_resp`` 2013) a tool-calling turn sent back
without its reasoning (as ``reasoning_details`` or the ``<think>`` block). The
Anthropic interface answers with signed thinking blocks (see
:mod:`teragent_testing.fake_anthropic`).

HTTP-200 errors: ``ScriptedReply(raw_body={"base_resp": {"status_code": 1008,
"status_msg": "insufficient balance"}})`` answers exactly that, for streamed requests
too (as a JSON body).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from typing import Any, Callable

from teragent_testing._asgi import ReplyQueue, json_body, read_body, replaying
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.fake_openai import (
    FakeOpenAIServer, ReasoningLedger, ScriptedReply, generated_reasoning,
)

__all__ = ["FakeMiniMaxServer"]


class FakeMiniMaxServer(ReplyQueue):
    """The ASGI app.

    Args:
        desktop: Serve the desktop endpoint (``False`` answers it with 404).
        rate_limit: Requests allowed per window (``None``: no rate-limit headers).
        window_seconds: The window length.
    """

    def __init__(self, *, desktop: bool = True, rate_limit: int | None = None,
                 window_seconds: float = 60.0, enforce_reasoning: bool = True) -> None:
        self.desktop = desktop
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.enforce_reasoning = enforce_reasoning
        super().__init__()
        self.desktop_replies: deque[dict[str, Any]] = deque()
        self.rejected: list[str] = []
        self.ledger = ReasoningLedger()
        self.openai = FakeOpenAIServer(responder=self._openai_reply)
        self.anthropic = FakeAnthropicServer(responder=self._anthropic_reply)
        self._window_start = time.time()
        self._used = 0

    def _reply(self, body: dict[str, Any]) -> ScriptedReply:
        return self.next_reply(body, FakeOpenAIServer.echo)  # type: ignore[no-any-return]

    @staticmethod
    def _thinks(body: dict[str, Any]) -> bool:
        thinking = body.get("thinking")
        return not (isinstance(thinking, dict) and thinking.get("type") == "disabled")

    def _anthropic_reply(self, body: dict[str, Any]) -> ScriptedReply:
        reply = self._reply(body)
        if (self._thinks(body) and not reply.reasoning and reply.status < 400
                and reply.raw_body is None):
            reply = dataclasses.replace(reply, reasoning=generated_reasoning(reply))
        return reply

    def _openai_reply(self, body: dict[str, Any]) -> ScriptedReply:
        reply = self._reply(body)
        if reply.status >= 400 or reply.raw_body is not None:
            return reply
        if not self._thinks(body):
            return dataclasses.replace(reply, reasoning=None)
        reasoning = reply.reasoning or generated_reasoning(reply)
        reply = dataclasses.replace(reply, reasoning=reasoning)
        self.ledger.record(reply)
        if body.get("reasoning_split"):
            return reply  # encoded as reasoning_details by _split_reasoning
        return dataclasses.replace(
            reply, reasoning=None, text=f"<think>\n{reasoning}\n</think>\n\n{reply.text}")

    @staticmethod
    def carried_reasoning(message: dict[str, Any]) -> str | None:
        """The reasoning an assistant message brings back: ``reasoning_details`` text,
        or the ``<think>`` block at the start of its content."""
        details = message.get("reasoning_details")
        if isinstance(details, list):
            text = "".join(str(d.get("text") or "") for d in details if isinstance(d, dict))
            if text:
                return text
        content = message.get("content")
        if isinstance(content, str) and content.lstrip().startswith("<think>"):
            inner = content.lstrip()[len("<think>"):]
            return inner.split("</think>", 1)[0]
        return None

    def problem(self, body: dict[str, Any]) -> str | None:
        """What the OpenAI interface refuses (a tool turn sent back without its
        reasoning), or ``None``."""
        if not self.enforce_reasoning:
            return None
        index = self.ledger.missing(list(body.get("messages") or []), self.carried_reasoning)
        if index is None:
            return None
        return (f"invalid params, messages[{index}]: the assistant message of a tool call "
                "must be sent back complete, with its reasoning (reasoning_details or "
                "the <think> content)")

    def script_desktop(self, *answers: dict[str, Any]) -> "FakeMiniMaxServer":
        """Queue desktop-endpoint answers (``{"action": ..., "reasoning": ...}``)."""
        with self._lock:
            self.desktop_replies.extend(answers)
        return self

    def reset(self) -> None:
        self.ledger.clear()
        self.anthropic.ledger.clear()
        with self._lock:
            self.replies.clear()
            self.desktop_replies.clear()
            self.requests.clear()
            self.rejected.clear()
            self._used = 0
            self._window_start = time.time()
        self.openai.reset()
        self.anthropic.reset()

    def wait_for_disconnect(self, timeout: float = 10.0, count: int = 1,
                            interface: str = "openai") -> bool:
        """Block until ``count`` clients left held-open streams of ``interface``."""
        inner = self.anthropic if interface == "anthropic" else self.openai
        return inner.wait_for_disconnect(timeout, count)

    def _rate_headers(self) -> tuple[list[tuple[bytes, bytes]], bool]:
        if self.rate_limit is None:
            return [], False
        with self._lock:
            now = time.time()
            if now - self._window_start >= self.window_seconds:
                self._window_start, self._used = now, 0
            allowed = self._used < self.rate_limit
            if allowed:
                self._used += 1
            remaining = self.rate_limit - self._used
            reset_in = max(0.0, self.window_seconds - (now - self._window_start))
        headers = [(b"x-ratelimit-limit-requests", str(self.rate_limit).encode()),
                   (b"x-ratelimit-remaining-requests", str(remaining).encode()),
                   (b"x-ratelimit-reset-requests", f"{reset_in:.3f}".encode())]
        if not allowed:
            headers.append((b"retry-after", str(max(1, round(reset_in))).encode()))
        return headers, not allowed

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.openai(scope, receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        path = scope.get("path", "")
        body = json_body(raw)
        self.record(scope, body, path=path)
        extra_headers, limited = self._rate_headers()

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *extra_headers]}
            await send(message)

        if limited:
            await _json(send_with_headers, 429, {"base_resp": {
                "status_code": 1002, "status_msg": "rate limit exceeded"},
                "error": {"type": "rate_limit_error", "message": "rate limit exceeded"}})
            return
        if path.endswith("/desktop/command"):
            await self._desktop(body, send_with_headers)
            return
        replay = replaying(raw, receive)

        if "/anthropic/" in path:
            await self.anthropic(scope, replay, send_with_headers)
            return
        problem = self.problem(body) if isinstance(body, dict) else None
        if problem:
            with self._lock:
                self.rejected.append(problem)
            await _json(send_with_headers, 400, {
                "base_resp": {"status_code": 2013, "status_msg": problem},
                "error": {"type": "invalid_request_error", "message": problem}})
            return

        async def split_reasoning(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": _split_reasoning(message["body"])}
            elif message["type"] == "http.response.start":
                message = {**message, "headers": [
                    (k, v) for k, v in message.get("headers", []) if k != b"content-length"]}
            await send_with_headers(message)

        split = isinstance(body, dict) and bool(body.get("reasoning_split"))
        await self.openai(scope, replay, split_reasoning if split else send_with_headers)

    async def _desktop(self, body: Any, send: Callable[..., Any]) -> None:
        if not self.desktop:
            await _json(send, 404, {"error": {"type": "not_found",
                                              "message": "desktop endpoint not available"}})
            return
        with self._lock:
            answer = self.desktop_replies.popleft() if self.desktop_replies else None
        if answer is None:
            command = (body or {}).get("command", "") if isinstance(body, dict) else ""
            answer = {"action": {"name": "screenshot", "params": {}},
                      "reasoning": f"no scripted answer for {command!r}"}
        await _json(send, 200, answer)


def _details(text: str) -> list[dict[str, Any]]:
    return [{"type": "reasoning.text", "id": "reasoning-text-1",
             "format": "MiniMax-response-v1", "index": 0, "text": text}]


def _split_reasoning(data: bytes) -> bytes:
    """``reasoning_content`` of a completion or of one SSE chunk → ``reasoning_details``."""
    def fix(obj: dict[str, Any]) -> dict[str, Any]:
        for choice in obj.get("choices") or []:
            for key in ("message", "delta"):
                part = choice.get(key)
                if isinstance(part, dict) and part.get("reasoning_content"):
                    part["reasoning_details"] = _details(part.pop("reasoning_content"))
        return obj

    if data.startswith(b"data: {"):
        obj = json.loads(data[len(b"data: "):].strip())
        return b"data: " + json.dumps(fix(obj)).encode() + b"\n\n"
    if data.startswith(b"{"):
        try:
            obj = json.loads(data)
        except ValueError:
            return data
        if isinstance(obj, dict):
            return json.dumps(fix(obj)).encode()
    return data


async def _json(send: Callable[..., Any], status: int, obj: Any) -> None:
    data = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data, "more_body": False})
