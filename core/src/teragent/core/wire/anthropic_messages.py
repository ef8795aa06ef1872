"""The Anthropic Messages wire codec (``POST /v1/messages``), shared by adapters.

``teragent-anthropic`` (``anthropic_native``) and ``teragent-minimax`` (MiniMax's
Anthropic-compatible interface) both speak it and each must install with only the
kernel, so the codec lives here:

- :func:`build_messages_body`: a :class:`CompiledPrompt` (mode B, or the kernel's
  OpenAI-shaped conversation) → a Messages request body: system messages become the
  top-level ``system``; assistant ``tool_calls`` become ``tool_use`` blocks; ``tool``
  messages become ``tool_result`` blocks in a user turn; image parts become ``image``
  blocks; consecutive same-role turns are merged (the API wants alternation).
  ``extra["prompt_caching"]`` puts ``cache_control`` on the system prompt and the last
  tool definition.
- :class:`MessagesStreamAssembler`: SSE events (``message_start``,
  ``content_block_start/delta/stop`` with ``text_delta``, ``input_json_delta``,
  ``thinking_delta``, ``signature_delta``; ``message_delta``; ``message_stop``;
  ``ping``; ``error``) → the kernel's typed stream events. Pure, no I/O.
- :func:`parse_message`: a non-streamed ``message`` object → :class:`TAPResponse`.
- :class:`MessagesAdapter`: the HTTP part (headers ``x-api-key`` and
  ``anthropic-version``, error translation through :mod:`teragent.core.http` and
  :mod:`teragent.core.wire.vendor_errors`: ``overloaded_error`` (529) is retryable,
  ``billing_error`` (402) a non-retryable :class:`~teragent.errors.QuotaExceededError`).

Thinking: answers carry their signed thinking blocks in
:attr:`TAPResponse.thinking_blocks`, which ``to_message()`` keeps on the assistant
message; they are sent back unchanged with that turn. A ``stop_reason`` of
``"refusal"`` sets :attr:`TAPResponse.refusal` (to the answer's text, ``""`` if none).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, AsyncIterator, ClassVar

import httpx

from teragent.core.adapter import TAPAdapter
from teragent.core.http import error_from_response, make_async_client, map_http_error
from teragent.core.multimodal import MultimodalContentError, to_anthropic_block
from teragent.core.sse import SSEDecoder
from teragent.core.tap import CompiledPrompt, MultimodalContent, TAPResponse
from teragent.core.types import (
    StreamEvent, StreamFinished, TextDelta, ThinkingDelta, ToolCall, ToolCallDelta,
    ToolCallReady, ToolCallStarted, UsageUpdate,
)
from teragent.core.wire.vendor_errors import error_kind, key_variable, refine, typed_error
from teragent.errors import IncompatiblePromptError, ModelAPIError, StreamError, redact

__all__ = [
    "ANTHROPIC_VERSION",
    "STOP_REASONS",
    "MessagesAdapter",
    "MessagesStreamAssembler",
    "build_messages_body",
    "convert_messages",
    "convert_tools",
    "parse_message",
    "usage_from_anthropic",
]

ANTHROPIC_VERSION = "2023-06-01"
#: Anthropic ``stop_reason`` → the kernel's (OpenAI-style) ``finish_reason``.
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
                "max_tokens": "length", "refusal": "content_filter",
                "pause_turn": "pause_turn"}
#: ``extra`` keys copied into the body as they are.
_PASS_THROUGH = ("temperature", "top_p", "top_k", "metadata", "stop_sequences",
                 "service_tier")
_EPHEMERAL = {"type": "ephemeral"}


# --- request ----------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") in ("text", None))
    return str(content)


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI user content (text or parts) → Anthropic content blocks."""
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(content if isinstance(content, list) else [content]):
        if not isinstance(part, dict):
            blocks.append({"type": "text", "text": str(part)})
            continue
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            blocks.append(to_anthropic_block(
                MultimodalContent(type="image_url", url=str(url)), index))
        elif kind in ("video_url", "input_video"):
            raise MultimodalContentError(
                "Anthropic's Messages API cannot carry video; remove the video part or "
                "use a video-capable model (MiniMax M3, GLM-5V-Turbo).")
        elif kind in ("image", "document", "tool_result", "tool_use", "thinking",
                      "redacted_thinking", "search_result"):
            blocks.append(dict(part))  # already an Anthropic block
        else:
            raise IncompatiblePromptError(
                f"A user message has a content part of unknown type {kind!r}; use "
                "'text' or 'image_url' parts.")
    return blocks


def _assistant_blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in msg.get("thinking_blocks") or []:  # preserved signed thinking
        if isinstance(block, dict):
            blocks.append(dict(block))
    content = msg.get("content")
    if isinstance(content, list):
        blocks += [dict(p) if p.get("type") != "text" else
                   {"type": "text", "text": p.get("text", "")}
                   for p in content if isinstance(p, dict)]
    elif content:
        blocks.append({"type": "text", "text": str(content)})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        raw = fn.get("arguments")
        if isinstance(raw, dict):
            args = raw
        else:
            try:
                args = json.loads(raw) if raw else {}
            except ValueError:
                args = {"_raw_arguments": raw}
            if not isinstance(args, dict):
                args = {"_raw_arguments": raw}
        blocks.append({"type": "tool_use", "id": str(call.get("id")),
                       "name": str(fn.get("name", "")), "input": args})
    return blocks


def convert_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The kernel's OpenAI-shaped conversation → ``(system, messages)`` for Anthropic."""
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": list(blocks)})

    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            text = _text_of(msg.get("content"))
            if text:
                system.append(text)
        elif role == "user":
            add("user", _user_blocks(msg.get("content")))
        elif role == "assistant":
            add("assistant", _assistant_blocks(msg))
        elif role == "tool":
            content = msg.get("content")
            result: dict[str, Any] = {"type": "tool_result",
                                      "tool_use_id": str(msg.get("tool_call_id")),
                                      "content": content if isinstance(content, list)
                                      else _text_of(content)}
            if msg.get("is_error"):
                result["is_error"] = True
            # tool results must come first in their user turn
            if out and out[-1]["role"] == "user":
                existing = out[-1]["content"]
                at = sum(1 for b in existing if b.get("type") == "tool_result")
                existing.insert(at, result)
            else:
                add("user", [result])
        else:
            raise IncompatiblePromptError(
                f"Cannot send a message with role {role!r} over the Messages API; use "
                "system, user, assistant or tool.")
    return "\n\n".join(system), out


def convert_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """OpenAI function tools → Anthropic tools (Anthropic-shaped ones pass through)."""
    out = []
    for tool in tools or []:
        if "input_schema" in tool or tool.get("type", "function") != "function":
            out.append(dict(tool))
            continue
        fn = tool.get("function") or tool
        converted = {"name": fn["name"],
                     "input_schema": fn.get("parameters") or {"type": "object",
                                                              "properties": {}}}
        if fn.get("description"):
            converted["description"] = fn["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"auto": {"type": "auto"}, "required": {"type": "any"},
            "none": {"type": "none"}}.get(choice, choice) if isinstance(choice, str) else choice


def build_messages_body(compiled: CompiledPrompt, model: str, *, stream: bool,
                        default_max_tokens: int = 4096) -> dict[str, Any]:
    """The Messages API body for ``compiled``."""
    extra = compiled.extra or {}
    if compiled.mode == "system_user":
        system = compiled.system_prompt or ""
        messages = [{"role": "user", "content": _user_blocks(compiled.user_message or "")}]
    else:
        system, messages = convert_messages(compiled.messages or [])
    if not messages:
        raise IncompatiblePromptError(
            "The Messages API needs at least one user message; the compiled prompt has "
            "none. Give the request an instruction.")
    body: dict[str, Any] = {"model": model, "max_tokens": int(extra.get("max_tokens")
                                                              or default_max_tokens),
                            "messages": messages}
    caching = bool(extra.get("prompt_caching") or extra.get("cache_control"))
    if system:
        body["system"] = ([{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
                          if caching else system)
    tools = convert_tools(compiled.tools)
    if tools:
        if caching:
            tools[-1] = {**tools[-1], "cache_control": _EPHEMERAL}
        body["tools"] = tools
    for key in _PASS_THROUGH:
        if extra.get(key) is not None:
            body[key] = extra[key]
    if extra.get("stop") is not None and "stop_sequences" not in body:
        stop = extra["stop"]
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if extra.get("tool_choice") is not None:
        body["tool_choice"] = _tool_choice(extra["tool_choice"])
    thinking = extra.get("thinking")
    if isinstance(thinking, dict):
        body["thinking"] = thinking
    elif extra.get("thinking_budget"):
        body["thinking"] = {"type": "enabled", "budget_tokens": int(extra["thinking_budget"])}
    if stream:
        body["stream"] = True
    return body


# --- response ---------------------------------------------------------------------------


def usage_from_anthropic(usage: Any) -> tuple[dict[str, int], int | None]:
    """Anthropic usage → the kernel's usage dict (``prompt_tokens`` counts cached input
    too) and the cache-read tokens."""
    if not isinstance(usage, dict):
        return {}, None
    raw = {k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}
    read = raw.get("cache_read_input_tokens")
    written = raw.get("cache_creation_input_tokens", 0)
    prompt = raw.get("input_tokens", 0) + (read or 0) + written
    completion = raw.get("output_tokens", 0)
    out = dict(raw)
    out.update(prompt_tokens=prompt, completion_tokens=completion,
               total_tokens=prompt + completion)
    return out, read


def parse_message(data: Any, model: str, *, provider: str = "",
                  status: int = 200) -> TAPResponse:
    """A non-streamed ``message`` object as a :class:`TAPResponse`."""
    if not isinstance(data, dict) or data.get("type") == "error" or "content" not in data:
        err = data.get("error") if isinstance(data, dict) else None
        message = err.get("message") if isinstance(err, dict) else err
        raise ModelAPIError(f"The API answered without a message: {message or 'no content'}",
                            provider=provider, model=model, status=status,
                            body=json.dumps(data)[:2000], retryable=True)
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    blocks: list[dict[str, Any]] = []
    for block in data.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
            blocks.append(block)
        elif kind == "redacted_thinking":
            blocks.append(block)
        elif kind == "tool_use":
            raw = json.dumps(block.get("input") or {})
            calls.append(ToolCall.from_raw(str(block.get("id")), str(block.get("name")), raw))
    usage, cached = usage_from_anthropic(data.get("usage"))
    stop = data.get("stop_reason")
    return TAPResponse(raw_text="".join(text), usage=usage, tool_calls=calls,
                       finish_reason=STOP_REASONS.get(stop, stop) if stop else None,
                       cache_hit_tokens=cached,
                       thinking_content="".join(thinking) or None,
                       refusal="".join(text) if stop == "refusal" else None,
                       thinking_blocks=blocks or None,
                       model=str(data.get("model") or model))


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
            err = obj.get("error") or {}
            text = (f"The server reported an error inside the stream: "
                    f"{err.get('type', '')}: {err.get('message', '')}")
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
        return ToolCall.from_raw(block.id, block.name, "".join(block.parts))

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
        blocks = [{"type": "thinking", "thinking": "".join(b.parts), "signature": b.signature}
                  if b.kind == "thinking" else {"type": "redacted_thinking", "data": b.data}
                  for b in self.blocks.values()
                  if b.kind in ("thinking", "redacted_thinking")]
        return TAPResponse(
            raw_text="".join(self.text), usage=usage,
            tool_calls=[self._build(b) for b in self.calls],
            finish_reason=STOP_REASONS.get(stop, stop) if stop else None,
            cache_hit_tokens=cached, thinking_content="".join(self.thinking) or None,
            refusal="".join(self.text) if stop == "refusal" else None,
            thinking_blocks=blocks or None,
            model=self.response_model or self.model)


# --- HTTP -------------------------------------------------------------------------------


class MessagesAdapter(TAPAdapter):
    """Carries compiled prompts over the Anthropic Messages protocol.

    Args:
        base_url: The API root up to the version, e.g. ``https://api.anthropic.com/v1``;
            the adapter posts to ``{base_url}/messages``.
        api_key: Sent as ``x-api-key`` only when set.
        api_key_env: The variable the key came from, named in 401/403 errors (when not
            given: the variable holding the key, else :attr:`default_api_key_env`).
        anthropic_version: The ``anthropic-version`` header.
        max_tokens: Used when ``extra`` does not set ``max_tokens`` (the API needs one).
        thinking_budget: Extended thinking (``{"type": "enabled", "budget_tokens": N}``)
            for requests whose ``extra`` says nothing about thinking, e.g. an agent's
            conversation; ``max_tokens`` grows to stay above the budget, as the API
            requires.
        headers: Extra headers (``anthropic-beta`` ...).
    """

    name: ClassVar[str] = "messages"
    required_mode: ClassVar[str] = "any"
    default_base_url: ClassVar[str] = "https://api.anthropic.com/v1"
    #: The vendor's customary key variable, named in 401/403 errors as a last resort.
    default_api_key_env: ClassVar[str | None] = None

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, transport: Any = None,
                 api_key_env: str | None = None,
                 anthropic_version: str = ANTHROPIC_VERSION, max_tokens: int = 4096,
                 thinking_budget: int | None = None,
                 headers: dict[str, str] | None = None, **options: Any) -> None:
        super().__init__(base_url=base_url or self.default_base_url, api_key=api_key,
                         timeout=timeout, transport=transport, **options)
        self.api_key_env = api_key_env
        self.anthropic_version = anthropic_version
        self.max_tokens = max_tokens
        self.thinking_budget = thinking_budget
        self._headers = dict(headers or {})
        self._client: httpx.AsyncClient | None = None
        # Signed thinking blocks of answers that called tools, by the first call's id.
        # With extended thinking, Anthropic requires them back on the follow-up turn;
        # the kernel's conversation format (OpenAI-shaped) has no field for them, so the
        # adapter re-attaches them when that assistant turn is sent again.
        self._thinking: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "multimodal": True, "thinking": True,
                "prompt_caching": True, "parallel_tool_calls": True, "video": False}

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"accept": "application/json", "content-type": "application/json",
                       "anthropic-version": self.anthropic_version, **self._headers}
            if self._api_key:
                headers["x-api-key"] = self._api_key
            self._client = make_async_client(str(self.base_url).rstrip("/") + "/",
                                             timeout=self.timeout, headers=headers,
                                             transport=self.transport)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _secrets(self) -> list[str]:
        return [self._api_key] if self._api_key else []

    def key_env_hint(self) -> str | None:
        """The key variable to name in 401/403 errors (see ``api_key_env``)."""
        return key_variable(self._api_key, explicit=self.api_key_env,
                            default=self.default_api_key_env)

    def _status_error(self, response: httpx.Response, body: bytes, model: str) -> ModelAPIError:
        text = body.decode("utf-8", "replace")
        error = error_from_response(response.status_code, response.headers, text,
                                    provider=self.name, model=model,
                                    api_key_env=self.key_env_hint(),
                                    secrets=self._secrets())
        return refine(error, redact(text, self._secrets()))

    def observe_response(self, response: httpx.Response) -> None:
        """Called with every HTTP response before its body is read (for headers)."""

    def record_result(self, result: TAPResponse) -> TAPResponse:
        """Called with every successful answer; returns it."""
        return result

    def _remember_thinking(self, result: TAPResponse) -> None:
        # The conversation normally brings the blocks back itself (to_message keeps
        # them); this cache covers callers that rebuild assistant messages by hand.
        blocks = result.thinking_blocks
        if blocks and result.tool_calls:
            self._thinking[result.tool_calls[0].id] = list(blocks)
            while len(self._thinking) > 256:
                self._thinking.popitem(last=False)

    def _with_thinking(self, compiled: CompiledPrompt) -> CompiledPrompt:
        if not self._thinking or compiled.messages is None:
            return compiled
        changed, messages = False, []
        for msg in compiled.messages:
            calls = msg.get("tool_calls") if msg.get("role") == "assistant" else None
            if calls and not msg.get("thinking_blocks") and isinstance(calls[0], dict):
                blocks = self._thinking.get(str(calls[0].get("id")))
                if blocks:
                    msg, changed = {**msg, "thinking_blocks": blocks}, True
            messages.append(msg)
        return compiled.model_copy(update={"messages": messages}) if changed else compiled

    def build_body(self, compiled: CompiledPrompt, model: str, *, stream: bool) -> dict[str, Any]:
        extra = compiled.extra or {}
        budget = self.thinking_budget
        if budget and "thinking" not in extra and not extra.get("thinking_budget"):
            compiled = compiled.model_copy(update={"extra": {**extra,
                                                             "thinking_budget": budget}})
        body = build_messages_body(self._with_thinking(compiled), model, stream=stream,
                                   default_max_tokens=self.max_tokens)
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int):
            body["max_tokens"] = max(body["max_tokens"], thinking["budget_tokens"] + 1024)
        return body

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        body = self.build_body(compiled, model, stream=False)
        client = self._get_client()
        try:
            response = await client.post("messages", json=body)
            content = response.content
        except httpx.HTTPError as exc:
            raise map_http_error(exc, provider=self.name, model=model,
                                 secrets=self._secrets()) from None
        self.observe_response(response)
        if response.status_code >= 400:
            raise self._status_error(response, content, model)
        try:
            data = json.loads(content)
        except ValueError:
            raise ModelAPIError("The API answered with a body that is not JSON.",
                                provider=self.name, model=model, status=response.status_code,
                                body=content.decode("utf-8", "replace"),
                                retryable=True) from None
        result = parse_message(data, model, provider=self.name, status=response.status_code)
        self._remember_thinking(result)
        return self.record_result(result)

    async def stream_events(self, compiled: CompiledPrompt,
                            model: str) -> AsyncIterator[StreamEvent]:
        body = self.build_body(compiled, model, stream=True)
        client = self._get_client()
        assembler = MessagesStreamAssembler(provider=self.name, model=model)
        decoder = SSEDecoder()
        request = client.build_request("POST", "messages", json=body,
                                       headers={"accept": "text/event-stream"})
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise map_http_error(exc, provider=self.name, model=model,
                                 secrets=self._secrets()) from None
        self.observe_response(response)
        try:
            if response.status_code >= 400:
                try:
                    content = await response.aread()
                except httpx.HTTPError as exc:
                    raise map_http_error(exc, provider=self.name, model=model,
                                         secrets=self._secrets()) from None
                raise self._status_error(response, content, model)
            try:
                async for chunk in response.aiter_bytes():
                    for event in decoder.feed(chunk):
                        for out in assembler.feed_sse(event.event, event.data):
                            yield out
                    if assembler.done:
                        break
            except httpx.HTTPError as exc:
                raise map_http_error(exc, provider=self.name, model=model,
                                     during_stream=True, secrets=self._secrets()) from None
            if not assembler.done:
                for event in decoder.flush():
                    for out in assembler.feed_sse(event.event, event.data):
                        yield out
            for out in assembler.finish():
                if isinstance(out, StreamFinished):
                    self._remember_thinking(out.response)
                    self.record_result(out.response)
                yield out
        finally:
            await response.aclose()
