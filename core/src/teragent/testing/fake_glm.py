"""A fake Zhipu GLM server: the OpenAI fake server plus Zhipu's dialect, by composition.

:class:`FakeGLMServer` wraps a :class:`~teragent.testing.fake_openai.FakeOpenAIServer`
(reachable as :attr:`FakeGLMServer.inner`; scripting and recording go through it) and
adds what Zhipu does differently:

- streams always end with a usage chunk, without ``stream_options`` being asked for;
- the ``thinking`` parameter is checked (``{"type": "enabled"|"disabled",
  "clear_thinking"?: bool}``) and refused with Zhipu's error shape (HTTP 400,
  ``{"error": {"code": "1214", "message": ...}}``) when malformed;
- async chat: ``POST .../async/chat/completions`` answers ``{"id", "task_status":
  "PROCESSING"}``; ``GET .../async-result/{id}`` answers ``PROCESSING`` once, then the
  completion with ``"task_status": "SUCCESS"``.

Use it like the OpenAI one: ``httpx.ASGITransport(app=FakeGLMServer())`` or
``serve_in_thread(FakeGLMServer(), path="/api/paas/v4")``.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, cast

from teragent.testing._asgi import read_body
from teragent.testing.fake_openai import FakeOpenAIServer, RecordedRequest, ScriptedReply

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


class FakeGLMServer:
    """The ASGI app; replies are scripted on the inner server; :attr:`requests` holds
    the chat requests as clients sent them.

    Args:
        inner: The OpenAI fake server to extend (a new one by default).
    """

    def __init__(self, inner: FakeOpenAIServer | None = None) -> None:
        self.inner = inner if inner is not None else FakeOpenAIServer()
        self.requests: list[RecordedRequest] = []
        self._tasks: dict[str, tuple[int, bytes]] = {}
        self._polled: set[str] = set()
        self._lock = threading.Lock()

    # scripting is the inner server's; :attr:`requests` records what clients sent
    # (before the dialect rewrite the inner server sees) --------------------------------------------------
    def script(self, *replies: ScriptedReply) -> "FakeGLMServer":
        self.inner.script(*replies)
        return self

    def reset(self) -> None:
        self.inner.reset()
        with self._lock:
            self.requests.clear()
            self._tasks.clear()
            self._polled.clear()

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
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, json.loads(json.dumps(body))))
        if isinstance(body, dict):
            problem = _thinking_problem(body.get("thinking"))
            if problem:
                await _json(send, 400, {"error": {"code": "1214", "message": problem}})
                return
            if body.get("stream"):  # Zhipu always ends a stream with usage
                body["stream_options"] = {"include_usage": True}
            raw = json.dumps(body).encode()
        if path.endswith("/async/chat/completions"):
            await self._submit(scope, raw, send)
            return
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return cast("dict[str, Any]", await receive())

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
