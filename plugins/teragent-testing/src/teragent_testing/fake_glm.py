"""A fake Zhipu GLM server: the OpenAI fake server plus Zhipu's dialect, by composition.

:class:`FakeGLMServer` wraps a :class:`~teragent_testing.fake_openai.FakeOpenAIServer`
(reachable as :attr:`FakeGLMServer.inner`; scripting and recording go through it) and
adds what Zhipu does differently:

- streams always end with a usage chunk, without ``stream_options`` being asked for;
- the ``thinking`` parameter is checked (``{"type": "enabled"|"disabled",
  "clear_thinking"?: bool}``) and ``reasoning_effort`` (``none``, ``minimal``,
  ``low``, ``medium``, ``high``, ``xhigh``, ``max``), and refused with Zhipu's error
  shape (HTTP 400, ``{"error": {"code": "1214", "message": ...}}``) when malformed;
- thinking is on unless ``thinking.type`` is ``"disabled"`` (GLM-5.x default): answers
  then carry ``reasoning_content`` (generated when the script gives none), and none
  with thinking disabled;
- interleaved thinking: Zhipu's guide says the reasoning of tool-calling turns must be
  sent back with the tool results. The fake refuses (400, code ``1214``) a request
  whose current tool loop (after the last user message) lost it, and, with
  ``clear_thinking: false`` (preserved thinking), any earlier turn that lost it. The
  refusal is this fake's strictness: the docs say "must", not which error follows;
- business errors are scripted as ``ScriptedReply(status=..., error_body={"error":
  {"code": "1261", "message": ...}})`` (1261 prompt too long, HTTP 400; 1113 account
  in arrears, HTTP 429);
- async chat: ``POST .../async/chat/completions`` answers ``{"id", "task_status":
  "PROCESSING"}``; ``GET .../async-result/{id}`` answers ``PROCESSING`` once, then the
  completion with ``"task_status": "SUCCESS"``.

Use it like the OpenAI one: ``httpx.ASGITransport(app=FakeGLMServer())`` or
``serve_in_thread(FakeGLMServer(), path="/api/paas/v4")``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from teragent_testing._asgi import ReplyQueue, json_body, read_body, replaying
from teragent_testing.fake_openai import (
    FakeOpenAIServer, ReasoningLedger, ScriptedReply,
)
from teragent_testing.fake_openai import generated_reasoning as _trace

__all__ = ["FakeGLMServer", "call_asgi"]


async def call_asgi(app: Any, method: str, path: str, body: bytes,
                    headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, str], bytes]:
    """Run one whole request through an ASGI app in-process; return status, headers, body."""
    sent = False
    status = 0
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.update({k.decode("latin-1"): v.decode("latin-1")
                                for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    scope = {"type": "http", "method": method, "path": path, "headers": headers,
             "query_string": b""}
    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_MARK = "_fake_glm_reply"


def _thinking_problem(thinking: Any) -> str | None:
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
        return "thinking.type must be 'enabled' or 'disabled'"
    unknown = set(thinking) - {"type", "clear_thinking"}
    if unknown:
        return f"thinking has unknown fields: {sorted(unknown)}"
    if "clear_thinking" in thinking and not isinstance(thinking["clear_thinking"], bool):
        return "thinking.clear_thinking must be a boolean"
    return None


class FakeGLMServer(ReplyQueue):
    """The ASGI app; :attr:`requests` holds the chat requests as clients sent them.

    Args:
        inner: The OpenAI fake server to extend (a new one by default); it encodes the
            replies this server prepares.
        enforce_reasoning: Refuse requests that lost a tool-calling turn's reasoning
            (see the module docstring; default ``True``).
    """

    def __init__(self, inner: FakeOpenAIServer | None = None, *,
                 enforce_reasoning: bool = True) -> None:
        self.inner = inner if inner is not None else FakeOpenAIServer()
        self.inner.responder = self._prepared
        self.enforce_reasoning = enforce_reasoning
        super().__init__()
        self.rejected: list[str] = []
        self.ledger = ReasoningLedger()
        self._ready: dict[str, ScriptedReply] = {}
        self._tasks: dict[str, tuple[int, bytes]] = {}
        self._polled: set[str] = set()
        self._count = 0

    # :attr:`requests` records what clients sent (before the dialect rewrite the inner
    # server sees) -----------------------------------------------------------------------
    def reset(self) -> None:
        self.inner.reset()
        self.ledger.clear()
        with self._lock:
            self.replies.clear()
            self.requests.clear()
            self.rejected.clear()
            self._ready.clear()
            self._tasks.clear()
            self._polled.clear()

    def _prepared(self, body: dict[str, Any]) -> ScriptedReply:
        with self._lock:
            reply = self._ready.pop(str(body.get(_MARK)), None)
        return reply if reply is not None else FakeOpenAIServer.echo(body)

    def _prepare(self, body: dict[str, Any]) -> str:
        """Take the next reply, fit it to the request's thinking mode, and return the
        key the inner server finds it by."""
        reply = self.next_reply(body, FakeOpenAIServer.echo)
        with self._lock:
            self._count += 1
            key = f"glm-{self._count}"
        thinking = body.get("thinking")
        enabled = not (isinstance(thinking, dict) and thinking.get("type") == "disabled")
        if reply.status < 400 and reply.raw_body is None:
            if enabled and not reply.reasoning:
                reply = dataclasses.replace(reply, reasoning=_trace(reply))
            elif not enabled and reply.reasoning:
                reply = dataclasses.replace(reply, reasoning=None)
            if enabled:
                self.ledger.record(reply)
        with self._lock:
            self._ready[key] = reply
        return key

    def problem(self, body: dict[str, Any]) -> str | None:
        """What Zhipu would refuse about ``body`` (see the module docstring)."""
        thinking = body.get("thinking")
        problem = _thinking_problem(thinking)
        if problem:
            return problem
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in EFFORTS:
            return f"reasoning_effort must be one of {', '.join(EFFORTS)}"
        enabled = not (isinstance(thinking, dict) and thinking.get("type") == "disabled")
        if self.enforce_reasoning and enabled:
            preserved = isinstance(thinking, dict) and thinking.get("clear_thinking") is False
            index = self.ledger.missing(list(body.get("messages") or []),
                                        lambda m: m.get("reasoning_content"),
                                        since_last_user=not preserved, all_turns=preserved)
            if index is not None:
                return (f"messages[{index}]: the reasoning_content of this assistant turn "
                        "must be sent back unchanged"
                        + (" (clear_thinking is false)" if preserved else
                           " with its tool results (interleaved thinking)"))
        return None

    def wait_for_disconnect(self, timeout: float = 10.0, count: int = 1) -> bool:
        return self.inner.wait_for_disconnect(timeout, count)

    # ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "")
        if method == "GET" and "/async-result/" in path:
            await self._async_result(path.rsplit("/", 1)[-1], send)
            return
        if method != "POST" or not path.endswith("/chat/completions"):
            await self.inner(scope, receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        body = json_body(raw)
        self.record(scope, json.loads(json.dumps(body)))  # a copy: body is rewritten below
        if isinstance(body, dict):
            problem = self.problem(body)
            if problem:
                with self._lock:
                    self.rejected.append(problem)
                await _json(send, 400, {"error": {"code": "1214", "message": problem}})
                return
            if body.get("stream"):  # Zhipu always ends a stream with usage
                body["stream_options"] = {"include_usage": True}
            body[_MARK] = self._prepare(body)
            raw = json.dumps(body).encode()
        if path.endswith("/async/chat/completions"):
            await self._submit(scope, raw, send)
            return
        replay = replaying(raw, receive)

        await self.inner(scope, replay, send)

    async def _submit(self, scope: dict[str, Any], raw: bytes,
                      send: Callable[..., Any]) -> None:
        path = scope["path"].replace("/async/chat/completions", "/chat/completions")
        status, _, content = await call_asgi(self.inner, "POST", path, raw,
                                             list(scope.get("headers", [])))
        if status >= 400:
            await _json(send, status, json.loads(content))
            return
        with self._lock:
            task_id = f"glm-task-{len(self._tasks) + 1}"
            self._tasks[task_id] = (status, content)
        await _json(send, 200, {"id": task_id, "task_status": "PROCESSING",
                                "model": json.loads(raw).get("model")})

    async def _async_result(self, task_id: str, send: Callable[..., Any]) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            first_poll = task_id not in self._polled
            self._polled.add(task_id)
        if task is None:
            await _json(send, 404, {"error": {"code": "1211",
                                              "message": f"task {task_id} not found"}})
        elif first_poll:
            await _json(send, 200, {"id": task_id, "task_status": "PROCESSING"})
        else:
            await _json(send, 200, {**json.loads(task[1]), "id": task_id,
                                    "task_status": "SUCCESS"})


async def _json(send: Callable[..., Any], status: int, obj: Any) -> None:
    data = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data, "more_body": False})
