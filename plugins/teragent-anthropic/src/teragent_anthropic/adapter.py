"""The ``anthropic_native`` adapter: Anthropic's ``POST /v1/messages`` with its SSE.

:class:`MessagesAdapter` is the HTTP part of the Messages codec (headers ``x-api-key``
and ``anthropic-version``, the pooled client, error translation through
:mod:`teragent.core.http`: ``overloaded_error`` (529) is retryable, ``billing_error``
(402) a non-retryable :class:`~teragent.errors.QuotaExceededError`); MiniMax's
Anthropic-compatible interface builds on it. The rest of the codec:
:mod:`teragent_anthropic.request`, :mod:`teragent_anthropic.response`,
:mod:`teragent_anthropic.stream`. :class:`AnthropicNativeAdapter` fixes Anthropic's
defaults.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, AsyncIterator, ClassVar

from teragent.core.adapter import TAPAdapter
from teragent.core.http import (
    error_from_response, key_variable, make_async_client, map_http_error, refine,
    response_json,
)
from teragent_openai.sse import SSEDecoder, looks_like_sse, one_chunk
from teragent.errors import ModelAPIError, redact
from teragent_anthropic.request import ANTHROPIC_VERSION, build_messages_body

if TYPE_CHECKING:  # httpx (~90 ms) and the TAP IR (pydantic) load with the first request
    import httpx

    from teragent.core.tap import CompiledPrompt, TAPResponse
    from teragent.core.types import StreamEvent

__all__ = ["AnthropicNativeAdapter", "MessagesAdapter"]


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
                                             transport=self.transport,
                                             follow_redirects=True)
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
        import httpx

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
        return self._message(response, content, model)

    def _message(self, response: httpx.Response, content: bytes, model: str) -> TAPResponse:
        """A successful response's JSON body as the answer (an error object raises)."""
        from teragent_anthropic.response import parse_message

        data = response_json(content, status=response.status_code, provider=self.name,
                             model=model)
        result = parse_message(data, model, provider=self.name, status=response.status_code)
        self._remember_thinking(result)
        return self.record_result(result)

    async def stream_events(self, compiled: CompiledPrompt,
                            model: str) -> AsyncIterator[StreamEvent]:
        import httpx

        from teragent.core.types import StreamFinished
        from teragent_anthropic.stream import MessagesStreamAssembler
        from teragent_openai.stream import replay

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
            content = b""
            if "json" in response.headers.get("content-type", "").lower():
                # A JSON body instead of an event stream: a gateway's error object (HTTP
                # 200), or a proxy that ignores "stream" and sends the whole message.
                try:
                    content = await response.aread()
                except httpx.HTTPError as exc:
                    raise map_http_error(exc, provider=self.name, model=model,
                                         during_stream=True,
                                         secrets=self._secrets()) from None
                if not looks_like_sse(content):  # else an event stream labelled JSON
                    for out in replay(self._message(response, content, model)):
                        yield out
                    return
            try:
                async for chunk in one_chunk(content) if content else response.aiter_bytes():
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


class AnthropicNativeAdapter(MessagesAdapter):
    """Claude over the Messages API.

    Accepts mode B prompts (``system_prompt`` + ``user_message``, as the ``anthropic``
    compiler emits) and mode A conversations in the kernel's OpenAI shape (converted:
    system → top-level ``system``, assistant ``tool_calls`` → ``tool_use`` blocks,
    ``tool`` messages → ``tool_result`` blocks in a user turn). ``extra`` may set
    ``max_tokens``, ``thinking`` (``{"type": "enabled", "budget_tokens": N}``) or
    ``thinking_budget``, ``prompt_caching``, ``temperature``, ``top_p``, ``top_k``,
    ``stop``/``stop_sequences``, ``tool_choice`` and ``metadata``.

    Args:
        base_url: Default ``https://api.anthropic.com/v1``.
        api_key: Sent as ``x-api-key``; read it from ``ANTHROPIC_API_KEY``.
        anthropic_version: Default ``2023-06-01``.
        max_tokens: Default 4096, used when ``extra`` sets none.
        thinking_budget: Extended thinking for requests that do not ask for it
            themselves (an agent's turns): the signed thinking blocks then travel in
            the conversation (``TAPResponse.to_message()`` keeps them) and go back
            with the tool results, as Anthropic requires.
        api_key_env: Named in 401/403 errors; by default the variable that holds the
            key, else ``ANTHROPIC_API_KEY``.
    """

    name: ClassVar[str] = "anthropic_native"
    default_base_url: ClassVar[str] = "https://api.anthropic.com/v1"
    default_api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"

    def __init__(self, *, api_key_env: str | None = None,
                 anthropic_version: str = ANTHROPIC_VERSION, **kwargs: Any) -> None:
        super().__init__(api_key_env=api_key_env, anthropic_version=anthropic_version,
                         **kwargs)
