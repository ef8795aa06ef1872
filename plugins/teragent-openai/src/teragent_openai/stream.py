"""The pure half of the OpenAI chat-completions codec: chunk reassembly, no I/O.

:class:`StreamAssembler` turns decoded ``chat.completion.chunk`` objects into the
kernel's typed stream events; :class:`ThinkSplitter` moves a leading
``<think>…</think>`` block out of the answer (MiniMax without ``reasoning_split``,
R1-style local models); :func:`int_usage` flattens a usage object. The HTTP half is
:mod:`teragent_openai.chat`.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from teragent.core.http import error_kind, typed_error
from teragent.core.tap import TAPResponse, estimate_tokens
from teragent.core.types import (
    StreamEvent, StreamFinished, TextDelta, ThinkingDelta, ToolCall, ToolCallDelta,
    ToolCallReady, ToolCallStarted, UsageUpdate,
)
from teragent.errors import ModelAPIError, StreamError, redact
from teragent_openai.sse import whole_text

__all__ = ["StreamAssembler", "ThinkSplitter", "int_usage", "split_think", "details_text",
           "count_prompt_tokens", "replay"]


def int_usage(usage: Any) -> tuple[dict[str, int], int | None]:
    """Flatten a usage object to ``{name: int}`` and pull out cache-hit tokens."""
    if not isinstance(usage, dict):
        return {}, None
    out: dict[str, int] = {}
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
        out["reasoning_tokens"] = details["reasoning_tokens"]
    cached: int | None = None
    prompt_details = usage.get("prompt_tokens_details")
    if isinstance(prompt_details, dict) and isinstance(prompt_details.get("cached_tokens"), int):
        cached = prompt_details["cached_tokens"]
    elif isinstance(usage.get("prompt_cache_hit_tokens"), int):  # DeepSeek
        cached = usage["prompt_cache_hit_tokens"]
    if "total_tokens" not in out and ("prompt_tokens" in out or "completion_tokens" in out):
        out["total_tokens"] = out.get("prompt_tokens", 0) + out.get("completion_tokens", 0)
    return out, cached


_OPEN, _CLOSE = "<think>", "</think>"


class ThinkSplitter:
    """Separates a leading ``<think>…</think>`` block from streamed content.

    Only a block at the very start of the content (after whitespace) counts, so an
    answer that merely mentions the tag is left alone. Feed content pieces with
    :meth:`feed`; it returns ``("thinking" | "text", piece)`` pairs, holding back
    only what could still be part of a tag; :meth:`flush` returns the rest.
    """

    def __init__(self) -> None:
        self.state = "start"  # start → thinking → text (or start → text)
        self.buffer = ""

    def feed(self, piece: str) -> list[tuple[str, str]]:
        self.buffer += piece
        out: list[tuple[str, str]] = []
        while self.buffer:
            if self.state == "start":
                head = self.buffer.lstrip()
                if head.startswith(_OPEN):
                    self.state, self.buffer = "thinking", head[len(_OPEN):]
                    continue
                if _OPEN.startswith(head):  # maybe the tag, still incomplete
                    break
                self.state = "text"
            elif self.state == "thinking":
                end = self.buffer.find(_CLOSE)
                if end >= 0:
                    if end:
                        out.append(("thinking", self.buffer[:end]))
                    self.state, self.buffer = "after", self.buffer[end + len(_CLOSE):]
                    continue
                keep = _partial_suffix(self.buffer, _CLOSE)
                if len(self.buffer) > keep:
                    out.append(("thinking", self.buffer[:len(self.buffer) - keep]))
                    self.buffer = self.buffer[len(self.buffer) - keep:]
                break
            elif self.state == "after":  # drop the blank lines after </think>
                self.buffer = self.buffer.lstrip("\r\n")
                if self.buffer:
                    self.state = "text"
            else:
                out.append(("text", self.buffer))
                self.buffer = ""
        return out

    def flush(self) -> list[tuple[str, str]]:
        rest, self.buffer = self.buffer, ""
        if not rest or self.state == "after":
            return []
        return [("thinking" if self.state == "thinking" else "text", rest)]


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_think(content: str) -> tuple[str, str]:
    """``(text, thinking)`` of a whole answer (see :class:`ThinkSplitter`)."""
    splitter = ThinkSplitter()
    parts = splitter.feed(content) + splitter.flush()
    return ("".join(p for k, p in parts if k == "text"),
            "".join(p for k, p in parts if k == "thinking"))


def details_text(details: Any) -> str:
    """The text of a ``reasoning_details`` list (``[{"type": "reasoning.text",
    "text": ...}, ...]``, MiniMax and OpenRouter)."""
    if not isinstance(details, list):
        return ""
    return "".join(str(d.get("text") or "") for d in details
                   if isinstance(d, dict) and d.get("type", "reasoning.text")
                   in ("reasoning.text", "reasoning.summary"))


class _PendingCall:
    __slots__ = ("index", "id", "name", "arguments", "ready")

    def __init__(self, index: int, id: str, name: str) -> None:
        self.index, self.id, self.name = index, id, name
        self.arguments: list[str] = []
        self.ready = False

    def build(self) -> ToolCall:
        return ToolCall.from_raw(self.id, self.name, whole_text(self.arguments))


def arguments_text(args: Any) -> str:
    """A call's ``arguments`` as JSON text: the string the protocol specifies, or the
    object some servers (Ollama-style, some proxies) send in its place."""
    if isinstance(args, (dict, list)):
        return json.dumps(args)
    return args if isinstance(args, str) else ""


class StreamAssembler:
    """Turns decoded ``chat.completion.chunk`` objects into stream events.

    Pure (no I/O), so the reassembly can be tested on its own. Feed it every chunk
    with :meth:`feed`, then call :meth:`finish` once the stream has ended.

    Args:
        provider: Adapter name, for errors.
        model: Model name, for errors.
        require_done: Treat a stream without ``data: [DONE]`` as broken off even
            after a ``finish_reason`` (by default that ends it: some servers and
            proxies omit ``[DONE]``; a stream cut before any ``finish_reason`` is
            always an error).
        check: Called with every chunk first; a vendor error it returns is raised
            (dialects whose errors arrive as ordinary chunks, e.g. MiniMax's
            ``base_resp``).
    """

    def __init__(self, *, provider: str = "", model: str = "",
                 require_done: bool = False,
                 check: Callable[[dict[str, Any]], ModelAPIError | None] | None = None
                 ) -> None:
        self.provider, self.model, self.require_done = provider, model, require_done
        self.check = check
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.refusal: list[str] = []
        #: Non-empty content, reasoning, refusal and tool-argument deltas seen.
        self.deltas = 0
        self.splitter = ThinkSplitter()
        self._details = ""  # reasoning_details text so far (some servers resend it all)
        self.calls: dict[int, _PendingCall] = {}
        self._unindexed: dict[int, int] = {}  # position -> index, for deltas without one
        self.usage: dict[str, int] = {}
        self.cache_hit_tokens: int | None = None
        self.finish_reason: str | None = None
        self.response_model: str | None = None
        self.done = False

    def _error(self, message: str) -> StreamError:
        return StreamError(message, provider=self.provider, model=self.model, retryable=True)

    def feed_data(self, data: str) -> list[StreamEvent]:
        """Handle one SSE ``data`` payload (JSON text or ``[DONE]``)."""
        if self.done:
            return []
        if data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise self._error(
                f"The stream carried malformed JSON ({exc}): {redact(data[:200])!r}") from None
        if not isinstance(chunk, dict):
            raise self._error(f"The stream carried a non-object chunk: {redact(data[:200])!r}")
        return self.feed(chunk)

    def _ready_before(self, index: int) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for call in self.calls.values():
            if not call.ready and call.index < index:
                call.ready = True
                events.append(ToolCallReady(index=call.index, call=call.build()))
        return events

    def _ready_all(self) -> list[StreamEvent]:
        return self._ready_before(1 << 62)

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """Handle one decoded chunk object."""
        if self.check is not None:
            vendor = self.check(chunk)
            if vendor is not None:
                raise vendor
        error = chunk.get("error") or (chunk if chunk.get("object") == "error" else None)
        if error:  # (vLLM's ErrorResponse is {"object": "error", "message": ...})
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            text = (f"The server reported an error inside the stream: {message}"
                    + (f" (code {code})" if code else ""))
            common: dict[str, Any] = {"provider": self.provider, "model": self.model,
                                      "body": json.dumps(chunk)[:2000]}
            kind = error_kind(chunk)
            if kind in (None, "rate_limit"):
                raise StreamError(text, retryable=True, **common)
            raise typed_error(kind, text, **common)
        events: list[StreamEvent] = []
        if chunk.get("model") and not self.response_model:
            self.response_model = str(chunk["model"])
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1 is not supported; the first choice is the answer
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if not (isinstance(reasoning, str) and reasoning):
                reasoning = self._details_delta(delta.get("reasoning_details"))
            if reasoning:
                self.thinking.append(reasoning)
                self.deltas += 1
                events.append(ThinkingDelta(text=reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.deltas += 1
                events.extend(self._content(self.splitter.feed(content)))
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                self.refusal.append(refusal)
                self.deltas += 1
            for position, raw in enumerate(delta.get("tool_calls") or []):
                events.extend(self._tool_delta(position, raw))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
                events.extend(self._content(self.splitter.flush()))
                events.extend(self._ready_all())
        if chunk.get("usage"):
            usage, cached = int_usage(chunk["usage"])
            self.usage = usage
            if cached is not None:
                self.cache_hit_tokens = cached
            events.append(UsageUpdate(usage=dict(usage), cache_hit_tokens=self.cache_hit_tokens))
        return events

    def _content(self, parts: list[tuple[str, str]]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for kind, piece in parts:
            if kind == "thinking":
                self.thinking.append(piece)
                events.append(ThinkingDelta(text=piece))
            else:
                self.text.append(piece)
                events.append(TextDelta(text=piece))
        return events

    def _details_delta(self, details: Any) -> str:
        text = details_text(details)
        if not text:
            return ""
        # MiniMax's docs show reasoning_details text as cumulative, its API sends
        # increments (MiniMax-AI/MiniMax-M2#95): accept both.
        if self._details and text.startswith(self._details):
            new = text[len(self._details):]
            self._details = text
            return new
        self._details += text
        return text

    def _tool_delta(self, position: int, raw: Any) -> list[StreamEvent]:
        if not isinstance(raw, dict):
            raise self._error(f"Malformed tool_calls delta: {redact(str(raw)[:200])!r}")
        index = raw.get("index")
        if index is None:  # one call at a time, or (Gemini) whole calls without an index:
            index = self._unindexed.get(position, position)  # a new id is a new call
            known = self.calls.get(index)
            if known is not None and raw.get("id") and known.id not in (
                    str(raw["id"]), f"call_{index}"):
                index = self._unindexed[position] = max(self.calls) + 1
        if not isinstance(index, int):
            raise self._error(f"Tool-call delta without an integer index: {index!r}")
        fn = raw.get("function") or {}
        events: list[StreamEvent] = []
        call = self.calls.get(index)
        if call is None:
            # A new call starts: every earlier call's arguments are complete.
            events.extend(self._ready_before(index))
            call = _PendingCall(index, str(raw.get("id") or f"call_{index}"),
                                str(fn.get("name") or ""))
            self.calls[index] = call
            events.append(ToolCallStarted(index=index, id=call.id, name=call.name))
        else:
            if raw.get("id") and call.id == f"call_{index}":
                call.id = str(raw["id"])
            if fn.get("name") and not call.name:
                call.name = str(fn["name"])
        args = arguments_text(fn.get("arguments"))
        if args:
            call.arguments.append(args)
            self.deltas += 1
            events.append(ToolCallDelta(index=index, arguments_delta=args))
        return events

    def finish(self) -> list[StreamEvent]:
        """The stream has ended: the remaining ready calls and :class:`StreamFinished`."""
        if not self.done and (self.require_done or self.finish_reason is None):
            raise self._error(
                "The stream ended before it was complete (no 'data: [DONE]'"
                + ("" if self.finish_reason else " and no finish_reason") + ").")
        events = self._content(self.splitter.flush())
        events.extend(self._ready_all())
        events.append(StreamFinished(response=self.response()))
        return events

    def response(self) -> TAPResponse:
        return TAPResponse(
            raw_text=whole_text(self.text),
            usage=dict(self.usage),
            tool_calls=[self.calls[i].build() for i in sorted(self.calls)],
            finish_reason=self.finish_reason,
            cache_hit_tokens=self.cache_hit_tokens,
            thinking_content=whole_text(self.thinking) or None,
            refusal=whole_text(self.refusal) or None,
            model=self.response_model or self.model,
        )


def count_prompt_tokens(body: Mapping[str, Any]) -> int:
    """An estimate of a request body's prompt tokens (messages and tool definitions)."""
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        total += estimate_tokens(str(content or "")) + 4  # role and separators
        if message.get("tool_calls"):
            total += estimate_tokens(json.dumps(message["tool_calls"]))
    if body.get("tools"):
        total += estimate_tokens(json.dumps(body["tools"]))
    return total


def replay(response: TAPResponse) -> list[StreamEvent]:
    """A whole answer as the events a stream of it would have produced."""
    events: list[StreamEvent] = []
    if response.thinking_content:
        events.append(ThinkingDelta(text=response.thinking_content))
    if response.raw_text:
        events.append(TextDelta(text=response.raw_text))
    for i, call in enumerate(response.tool_calls):
        events += [ToolCallStarted(index=i, id=call.id, name=call.name),
                   ToolCallReady(index=i, call=call)]
    if response.usage:
        events.append(UsageUpdate(usage=dict(response.usage),
                                  cache_hit_tokens=response.cache_hit_tokens))
    events.append(StreamFinished(response=response))
    return events
