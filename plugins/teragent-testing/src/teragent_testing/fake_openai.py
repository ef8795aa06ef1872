"""A fake OpenAI-compatible server: a plain ASGI app speaking the real wire format.

Use it in-process::

    server = FakeOpenAIServer()
    server.script(ScriptedReply(text="hi"), ScriptedReply(tool_calls=[("ls", {"path": "."})]))
    transport = httpx.ASGITransport(app=server)       # base_url "http://fake/v1"

or on a real loopback port (uvicorn in a thread, started and stopped on events)::

    with serve_in_thread(server) as base_url:         # "http://127.0.0.1:PORT/v1"
        ...

It answers ``POST .../chat/completions`` with ``chat.completion`` objects, or, when the
request says ``"stream": true``, with ``chat.completion.chunk`` SSE events, a usage
chunk when ``stream_options.include_usage`` is set, and ``data: [DONE]``. Replies come
from a queue of vendor-neutral :class:`ScriptedReply` objects (other vendors' fake
servers reuse the same dataclass); an empty queue answers with an echo of the last
user message. Every request is recorded in :attr:`FakeOpenAIServer.requests`.

``FakeOpenAIServer(fast=True)`` skips recording and caches encoded replies, for
benchmarks. Nothing here imports pytest; uvicorn is imported only by
:func:`serve_in_thread`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from teragent_testing._asgi import (
    RecordedRequest, ReplyQueue, header_pairs, http_body, json_body, send_json, serve_in_thread,
)
from teragent_testing._asgi import estimate_tokens as _estimate

__all__ = [
    "ScriptedReply",
    "RecordedRequest",
    "FakeOpenAIServer",
    "serve_in_thread",
    "encode_completion",
    "encode_stream",
    "ReasoningLedger",
    "generated_reasoning",
    "openai_request_problem",
]


@dataclass
class ScriptedReply:
    """One scripted model answer, vendor-neutral.

    Attributes:
        text: The answer text.
        tool_calls: ``(name, arguments)`` or ``(name, arguments, call_id)`` tuples;
            several make parallel tool calls.
        finish_reason: Defaults to ``"tool_calls"`` when there are tool calls, else
            ``"stop"``.
        usage: ``{"prompt_tokens", "completion_tokens", "cached_tokens"?}``; defaults to
            an estimate from the request and the answer.
        reasoning: Thinking text (``reasoning_content`` on the OpenAI wire).
        status: HTTP status; 400+ answers with ``error_body`` instead of a completion.
        headers: Extra response headers (``Retry-After``, ...).
        error_body: The error JSON (dict) or text; a default OpenAI error when ``None``.
        chunk_size: Characters per streamed text / argument delta.
        stream_error: An error object sent inside the stream after the first chunk.
        omit_done: Leave out ``data: [DONE]`` (a stream that breaks off).
        raw_stream: Exact bytes chunks to stream instead of generated events.
        hold_open: After the content, keep the stream open until the client goes away
            (loopback only: an in-process ASGI transport waits for the whole body).
        model: The ``model`` field of the answer (defaults to the request's).
        refusal: A refusal (``message.refusal``; streamed as ``delta.refusal``), as
            OpenAI sends when a model declines; ``text`` is then usually empty.
        omit_usage: Stream without a usage chunk even when ``stream_options`` asks
            for one (llama.cpp's ``llama_cpp.server`` behaves so).
        raw_body: Answer with exactly this JSON (and ``status``) instead of a
            completion or a stream: vendor errors sent with HTTP 200, for instance.
    """

    text: str = ""
    tool_calls: list[tuple[Any, ...]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    reasoning: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: Any = None
    chunk_size: int = 8
    stream_error: dict[str, Any] | None = None
    omit_done: bool = False
    raw_stream: list[bytes] | None = None
    hold_open: bool = False
    model: str | None = None
    refusal: str | None = None
    omit_usage: bool = False
    raw_body: Any = None

    def calls(self) -> list[tuple[str, dict[str, Any], str]]:
        """The tool calls as ``(name, arguments, id)`` with ids filled in."""
        out = []
        for i, call in enumerate(self.tool_calls):
            name, args = call[0], call[1]
            call_id = call[2] if len(call) > 2 else f"call_{i}_{name}"
            out.append((str(name), dict(args), str(call_id)))
        return out

    def resolved_finish_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


def _usage(reply: ScriptedReply, request: dict[str, Any]) -> dict[str, Any]:
    if reply.usage is not None:
        prompt = int(reply.usage.get("prompt_tokens", 0))
        completion = int(reply.usage.get("completion_tokens", 0))
        cached = reply.usage.get("cached_tokens")
    else:
        prompt = sum(_estimate(str(m.get("content") or ""))
                     for m in request.get("messages") or []) or 1
        completion = _estimate(reply.text) + sum(
            _estimate(json.dumps(args)) for _, args, _ in reply.calls()) or 1
        cached = None
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    return usage


def encode_completion(reply: ScriptedReply, request: dict[str, Any],
                      *, completion_id: str = "chatcmpl-fake") -> bytes:
    """A non-streaming ``chat.completion`` body for ``reply``."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None,
                               "refusal": reply.refusal}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for name, args, cid in reply.calls()
        ]
    obj = {
        "id": completion_id, "object": "chat.completion", "created": int(time.time()),
        "model": reply.model or request.get("model") or "fake-model",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": reply.resolved_finish_reason()}],
        "usage": _usage(reply, request),
    }
    return json.dumps(obj).encode()


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i:i + size] for i in range(0, len(text), size)]


def encode_stream(reply: ScriptedReply, request: dict[str, Any],
                  *, completion_id: str = "chatcmpl-fake") -> list[bytes]:
    """The SSE events (one ``bytes`` per event) streaming ``reply``."""
    if reply.raw_stream is not None:
        return list(reply.raw_stream)
    model = reply.model or request.get("model") or "fake-model"
    created = int(time.time())
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        obj: dict[str, Any] = {
            "id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}],
        }
        if include_usage:
            obj["usage"] = None
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    for piece in _pieces(reply.reasoning or "", reply.chunk_size):
        events.append(chunk({"reasoning_content": piece}))
    for piece in _pieces(reply.text, reply.chunk_size):
        events.append(chunk({"content": piece}))
    for piece in _pieces(reply.refusal or "", reply.chunk_size):
        events.append(chunk({"refusal": piece}))
    for index, (name, args, cid) in enumerate(reply.calls()):
        events.append(chunk({"tool_calls": [{
            "index": index, "id": cid, "type": "function",
            "function": {"name": name, "arguments": ""}}]}))
        for piece in _pieces(json.dumps(args), reply.chunk_size):
            events.append(chunk({"tool_calls": [{
                "index": index, "function": {"arguments": piece}}]}))
    if reply.stream_error is not None:
        events.insert(1, b"data: " + json.dumps({"error": reply.stream_error}).encode()
                      + b"\n\n")
    if reply.hold_open:
        return events
    events.append(chunk({}, reply.resolved_finish_reason()))
    if include_usage and not reply.omit_usage:
        usage_obj: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk",
                                     "created": created, "model": model, "choices": [],
                                     "usage": _usage(reply, request)}
        events.append(b"data: " + json.dumps(usage_obj).encode() + b"\n\n")
    if not reply.omit_done:
        events.append(b"data: [DONE]\n\n")
    return events


def _invalid(message: str, param: str | None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": code}}


def openai_request_problem(body: dict[str, Any], *, check_tool_pairing: bool = True,
                           context_limit: int | None = None) -> dict[str, Any] | None:
    """The HTTP 400 error body OpenAI's chat completions API answers ``body`` with, for
    the checks enabled here, or ``None`` if it passes them.

    ``check_tool_pairing``: a ``tool`` message must answer a ``tool_calls`` id of the
    assistant message opening its block, and every call must be answered before the
    next other message (the messages and params are the API's own).
    ``context_limit``: the prompt (messages and tool schemas, four characters a token)
    must fit this many tokens (``context_length_exceeded``).
    """
    messages = body.get("messages") or []
    if check_tool_pairing:
        pending: list[str] = []
        owner = -1
        for i, m in enumerate(messages):
            role = m.get("role") if isinstance(m, dict) else None
            if role == "tool":
                cid = str(m.get("tool_call_id"))
                if cid not in pending:
                    return _invalid("Invalid parameter: messages with role 'tool' must be a "
                                    "response to a preceeding message with 'tool_calls'.",
                                    f"messages.[{i}].role")
                pending.remove(cid)
                continue
            if pending:
                return _invalid("An assistant message with 'tool_calls' must be followed "
                                "by tool messages responding to each 'tool_call_id'. The "
                                "following tool_call_ids did not have response messages: "
                                + ", ".join(pending), f"messages.[{owner}].role")
            if role == "assistant" and m.get("tool_calls"):
                pending = [str(c.get("id")) for c in m["tool_calls"]]
                owner = i
        if pending:
            return _invalid("An assistant message with 'tool_calls' must be followed by "
                            "tool messages responding to each 'tool_call_id'. The "
                            "following tool_call_ids did not have response messages: "
                            + ", ".join(pending), f"messages.[{owner}].role")
    if context_limit is not None:
        used = len(json.dumps(messages, ensure_ascii=False)) // 4 + \
            len(json.dumps(body.get("tools") or [], ensure_ascii=False)) // 4
        if used > context_limit:
            return _invalid(f"This model's maximum context length is {context_limit} tokens. "
                            f"However, your messages resulted in {used} tokens. Please "
                            "reduce the length of the messages.", "messages",
                            "context_length_exceeded")
    return None


def _error_bytes(reply: ScriptedReply) -> bytes:
    body = reply.error_body
    if body is None:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
            reply.status, "server_error" if reply.status >= 500 else "invalid_request_error")
        body = {"error": {"message": f"fake error {reply.status}", "type": kind,
                          "param": None, "code": kind}}
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode()
    return str(body).encode()


class FakeOpenAIServer(ReplyQueue):
    """The ASGI app. Script replies with :meth:`script`; read :attr:`requests`.

    Args:
        fast: Skip recording and cache encoded replies (benchmarks).
        responder: ``f(request_body) -> ScriptedReply`` used when the queue is empty
            (default: echo the last user message).
        strict: Fail (HTTP 500 with a message) when a request arrives while the queue
            is empty, instead of echoing.
        check_tool_pairing: Refuse, as the real API does (HTTP 400, its error body),
            a request whose tool results and tool calls are not paired.
        context_limit: Refuse a prompt over this many tokens (four characters a
            token) with OpenAI's ``context_length_exceeded`` error.

    Refused requests are recorded too, and listed in :attr:`rejected`.
    """

    def __init__(self, *, fast: bool = False,
                 responder: Callable[[dict[str, Any]], ScriptedReply] | None = None,
                 strict: bool = False, check_tool_pairing: bool = False,
                 context_limit: int | None = None) -> None:
        self.check_tool_pairing = check_tool_pairing
        self.context_limit = context_limit
        #: ``(request body, error body)`` of every request refused by those checks.
        self.rejected: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.fast = fast
        self.responder = responder
        self.strict = strict
        super().__init__()
        self._counter = 0
        self._cache: dict[int, tuple[ScriptedReply, bytes, list[bytes]]] = {}

    # --- scripting --------------------------------------------------------------------

    @staticmethod
    def echo(body: dict[str, Any]) -> ScriptedReply:
        """The default reply: ``"echo: <last user message>"``."""
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        content = last.get("content") if last else ""
        if not isinstance(content, str):
            content = json.dumps(content)
        return ScriptedReply(text=f"echo: {content}")

    # --- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        raw = await http_body(scope, receive, send)
        if raw is None:
            return
        path = scope.get("path", "")
        if scope.get("method") == "GET" and path.endswith("/models"):
            await send_json(send, 200, b'{"object":"list","data":[{"id":"fake-model",'
                                        b'"object":"model","owned_by":"teragent"}]}')
            return
        if scope.get("method") != "POST" or not path.endswith("/chat/completions"):
            await send_json(send, 404, json.dumps({"error": {
                "message": f"no route for {scope.get('method')} {path}",
                "type": "invalid_request_error", "code": "not_found"}}).encode())
            return
        body = json_body(raw)
        if body is None:
            await send_json(send, 400, b'{"error":{"message":"body is not JSON",'
                                        b'"type":"invalid_request_error"}}')
            return
        if not self.fast:
            self.record(scope, body, path=path)
        if self.check_tool_pairing or self.context_limit is not None:
            problem = openai_request_problem(body, check_tool_pairing=self.check_tool_pairing,
                                             context_limit=self.context_limit)
            if problem is not None:
                with self._lock:
                    self.rejected.append((body, problem))
                await send_json(send, 400, json.dumps(problem).encode())
                return
        reply = self.next_reply(body, self.responder or (None if self.strict else self.echo))
        if reply is None:
            await send_json(send, 500, b'{"error":{"message":"FakeOpenAIServer(strict=True)'
                                        b' got a request with no scripted reply",'
                                        b'"type":"server_error"}}')
            return
        extra_headers = header_pairs(reply.headers)
        if reply.raw_body is not None:
            data = (json.dumps(reply.raw_body).encode()
                    if not isinstance(reply.raw_body, bytes) else reply.raw_body)
            await send_json(send, reply.status, data, extra_headers)
            return
        if reply.status >= 400:
            await send_json(send, reply.status, _error_bytes(reply), extra_headers)
            return
        self._counter += 1
        if body.get("stream"):
            await self._stream(send, receive, reply, body, extra_headers)
        else:
            await send_json(send, reply.status, self._completion(reply, body), extra_headers)

    def _encoded(self, reply: ScriptedReply, body: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        # Fast mode encodes each reply object once. The cache keeps the reply itself,
        # so a recycled id() can never return another reply's bytes.
        cached = self._cache.get(id(reply))
        if cached is None or cached[0] is not reply:
            cached = (reply, encode_completion(reply, body), encode_stream(reply, body))
            self._cache[id(reply)] = cached
        return cached[1], cached[2]

    def _completion(self, reply: ScriptedReply, body: dict[str, Any]) -> bytes:
        if self.fast:
            return self._encoded(reply, body)[0]
        return encode_completion(reply, body, completion_id=f"chatcmpl-fake-{self._counter}")

    def _events(self, reply: ScriptedReply, body: dict[str, Any]) -> list[bytes]:
        if self.fast:
            return self._encoded(reply, body)[1]
        return encode_stream(reply, body, completion_id=f"chatcmpl-fake-{self._counter}")

    async def _stream(self, send: Callable[..., Any], receive: Callable[..., Any],
                      reply: ScriptedReply, body: dict[str, Any],
                      extra_headers: list[tuple[bytes, bytes]]) -> None:
        await self.send_stream(receive, send, self._events(reply, body), status=reply.status,
                               headers=extra_headers, hold_open=reply.hold_open,
                               whole=self.fast)


def generated_reasoning(reply: ScriptedReply) -> str:
    """A deterministic reasoning trace for a reply scripted without one (fakes of
    vendors that always think use it)."""
    what = ", ".join(name for name, _, _ in reply.calls()) or reply.text[:40]
    return f"(fake reasoning before: {what})"


class ReasoningLedger:
    """What a fake server said it reasoned, so it can check the reasoning comes back.

    Vendors with interleaved thinking (DeepSeek, GLM, MiniMax) want the reasoning of a
    tool-calling turn sent back with that turn. A fake records the reasoning of every
    answer that called tools, by the first call's id, and :meth:`missing` names the
    first assistant turn of a request that lost (or changed) it.
    """

    def __init__(self) -> None:
        self._by_call: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, reply: ScriptedReply) -> None:
        """Remember ``reply``'s reasoning (answers without tool calls by their text)."""
        if not reply.reasoning:
            return
        calls = reply.calls()
        key = calls[0][2] if calls else f"text:{reply.text.strip()}"
        with self._lock:
            self._by_call[key] = reply.reasoning

    def expected(self, message: dict[str, Any], *, all_turns: bool = False) -> str | None:
        """The reasoning this assistant message must carry, if the fake issued one
        (for tool-calling turns; for every turn with ``all_turns``)."""
        calls = message.get("tool_calls") or []
        if calls and isinstance(calls[0], dict):
            key = str(calls[0].get("id"))
        elif all_turns and isinstance(message.get("content"), str):
            key = f"text:{message['content'].strip()}"
        else:
            return None
        with self._lock:
            return self._by_call.get(key)

    def missing(self, messages: list[dict[str, Any]],
                carried: Callable[[dict[str, Any]], str | None],
                *, since_last_user: bool = False, all_turns: bool = False) -> int | None:
        """The index of the first assistant tool-calling message whose reasoning, as
        ``carried(message)`` reads it, differs from what was issued; ``None`` if all
        are intact. ``since_last_user`` checks only the turns after the last user
        message (the current tool loop)."""
        start = 0
        if since_last_user:
            users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
            start = users[-1] if users else 0
        for index, message in enumerate(messages):
            if index < start or message.get("role") != "assistant":
                continue
            want = self.expected(message, all_turns=all_turns)
            if want is not None and (carried(message) or "").strip() != want.strip():
                return index
        return None

    def clear(self) -> None:
        with self._lock:
            self._by_call.clear()
