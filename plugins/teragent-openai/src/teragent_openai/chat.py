"""The OpenAI ``POST /chat/completions`` wire codec, shared by vendor-dialect adapters.

Family plugins whose vendors speak an OpenAI dialect (``teragent-glm``'s ``glm_native``,
``teragent-deepseek``, ``teragent-minimax``'s ``minimax_native``) depend on this plugin
and build on :class:`ChatCompletionsAdapter` (request bodies, the pooled client, error
translation, streaming); chunk reassembly is the pure
:class:`~teragent_openai.stream.StreamAssembler`. Subclasses override :meth:`ChatCompletionsAdapter.build_body`,
:meth:`ChatCompletionsAdapter.parse_completion` and
:meth:`ChatCompletionsAdapter.vendor_error` hooks for their dialect.

Conversation hygiene: assistant messages keep ``reasoning_content`` (DeepSeek and
other reasoning vendors need it back on tool-calling turns); Anthropic's signed
``thinking_blocks`` are dropped, as this wire has no place for them.

Reasoning: ``reasoning_content`` (DeepSeek, GLM, vLLM), ``reasoning`` and
``reasoning_details`` (MiniMax with ``reasoning_split``, OpenRouter) become
``thinking_content``; an answer whose content *starts* with a ``<think>…</think>``
block (MiniMax without ``reasoning_split``, R1-style local models) has that block moved
to ``thinking_content`` too (:class:`ThinkSplitter`), streamed or not, so thinking
never lands in ``raw_text``.

Refusals: ``message.refusal`` (and streamed ``delta.refusal``) become
:attr:`TAPResponse.refusal`; ``raw_text`` keeps only ordinary content.

Usage: when a stream ends without a usage chunk (llama.cpp's ``llama_cpp.server``
sends none), the adapter counts it: one completion token per streamed delta (such
servers send one token per chunk) and an estimate of the prompt, and marks the answer
``usage_estimated``.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, ClassVar, Mapping

if TYPE_CHECKING:  # httpx loads with the first httpx client (make_async_client)
    import httpx

    # The TAP IR and the stream codec (pydantic, asyncio) load with the first request,
    # not when a provider is built.
    from teragent.core.tap import CompiledPrompt, TAPResponse
    from teragent.core.types import StreamEvent
    from teragent_openai.stream import StreamAssembler

from teragent.core.adapter import TAPAdapter
from teragent.core.http import (
    error_from_response, error_kind, key_variable, make_async_client, map_http_error,
    refine, response_json, typed_error,
)
from teragent_openai.sse import SSEDecoder, looks_like_sse, one_chunk
from teragent.errors import ModelAPIError, StreamError, redact
from teragent_openai._wire import (
    AiohttpExchange, AiohttpPool, HttpxExchange, encode_json, wants_aiohttp,
)

__all__ = ["ChatCompletionsAdapter", "REQUEST_PARAMS"]

#: Message keys this wire never carries (Anthropic's signed thinking blocks).
_FOREIGN_MESSAGE_KEYS = ("thinking_blocks",)

#: ``CompiledPrompt.extra`` keys sent as request parameters; other keys are compiler
#: hints (``cache_aware``, ``variant``, ...) and stay out of the body. ``extra_body``
#: (a dict) is merged into the body as is, for vendor parameters not listed here.
REQUEST_PARAMS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens",
    "stop", "seed", "n", "presence_penalty", "frequency_penalty", "repetition_penalty",
    "logit_bias", "logprobs", "top_logprobs", "response_format", "tool_choice",
    "parallel_tool_calls", "user", "reasoning_effort", "thinking", "enable_thinking",
    "metadata", "store", "service_tier", "modalities", "audio", "prediction",
    "web_search_options", "verbosity", "do_sample", "request_id", "chat_template_kwargs",
})




class ChatCompletionsAdapter(TAPAdapter):
    """Carries compiled prompts over OpenAI's chat-completions protocol.

    Args:
        base_url: The API root, e.g. ``https://api.openai.com/v1``; the adapter posts
            to ``{base_url}/chat/completions``.
        api_key: The resolved key; sent as ``Authorization: Bearer`` only when set.
        timeout: Seconds for a whole request.
        transport: An httpx transport, ``"httpx"`` or ``"aiohttp"`` (see
            :mod:`teragent.core.http`).
        api_key_env: The variable the key came from, named in 401/403 errors. When
            not given, the variable holding the key is looked up (environment, then
            ``.env``), and :attr:`default_api_key_env` is the last resort.
        headers: Extra headers sent with every request.
        require_done: Treat a stream without ``data: [DONE]`` as broken off even after
            a ``finish_reason``. Default ``False``: a ``finish_reason`` ends it, as
            servers and proxies that omit ``[DONE]`` need (without it the agent retried
            every answer unstreamed); a stream cut before one is always an error.
        include_usage: Ask for a usage chunk in streams (default ``True``).
    """

    name: ClassVar[str] = "chat_completions"
    required_mode: ClassVar[str] = "any"
    #: The request path, relative to ``base_url``.
    path: ClassVar[str] = "chat/completions"
    #: The vendor's customary key variable, named in 401/403 errors as a last resort.
    default_api_key_env: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: Any = None,
        api_key_env: str | None = None,
        headers: dict[str, str] | None = None,
        require_done: bool = False,
        include_usage: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url or "https://api.openai.com/v1", api_key=api_key,
                         timeout=timeout, transport=transport, **options)
        self.api_key_env = api_key_env
        self._headers = dict(headers or {})
        self.require_done = require_done
        self.include_usage = include_usage
        self._client: httpx.AsyncClient | None = None
        self._pool: AiohttpPool | None = None  # the direct aiohttp path, when chosen
        self._native = wants_aiohttp(transport)
        #: Called with every response (``status_code``, ``headers``) before its body is
        #: read, on either transport: how a client-side rate limiter learns the
        #: vendor's rate-limit headers (see :meth:`add_response_hook`).
        self.response_hooks: list[Callable[[Any], Any]] = []

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "multimodal": True, "thinking": True,
                "parallel_tool_calls": True}

    # --- HTTP -------------------------------------------------------------------------

    def _default_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self._headers}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _get_client(self) -> httpx.AsyncClient:
        """The pooled httpx client (injected transports and ``transport="httpx"``)."""
        if self._client is None:
            base = str(self.base_url).rstrip("/") + "/"
            self._client = make_async_client(base, timeout=self.timeout,
                                             headers=self._default_headers(),
                                             transport=self.transport,
                                             follow_redirects=True)
        return self._client

    def prepare(self) -> None:
        """Load the HTTP stack now rather than inside the first request (``build_agent``
        does not: a service that wants a warm first request calls this at start-up)."""
        if self._native:
            import aiohttp  # noqa: F401
        else:
            self._get_client()

    def add_response_hook(self, hook: Callable[[Any], Any]) -> None:
        """Call ``hook(response)`` (sync or async) with every response's status and
        headers, on either transport."""
        self.response_hooks.append(hook)

    async def _open(self, body: dict[str, Any], compiled: CompiledPrompt, *,
                    stream: bool) -> HttpxExchange | AiohttpExchange:
        content = encode_json(body)
        headers = {"Content-Type": "application/json"}
        if stream:
            headers["Accept"] = "text/event-stream"
        timeout = self.request_timeout(compiled)
        if self._native:
            if self._pool is None:
                self._pool = AiohttpPool(str(self.base_url), self._default_headers(),
                                         self.timeout)
            return await AiohttpExchange.open(self._pool, self.path, content, headers,
                                              timeout, stream)
        return await HttpxExchange.open(self._get_client(), self.path, content, headers,
                                        timeout, stream)

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self._native:
            import asyncio

            import aiohttp

            return (aiohttp.ClientError, asyncio.TimeoutError)
        import httpx

        return (httpx.HTTPError,)

    async def _observe(self, exchange: HttpxExchange | AiohttpExchange) -> None:
        self.observe_response(exchange)
        for hook in self.response_hooks:
            outcome = hook(exchange)
            if inspect.isawaitable(outcome):
                await outcome

    async def aclose(self) -> None:
        client, self._client = self._client, None
        pool, self._pool = self._pool, None
        if client is not None:
            await client.aclose()
        if pool is not None:
            await pool.close()

    def _secrets(self) -> list[str]:
        return [self._api_key] if self._api_key else []

    def _map(self, exc: BaseException, model: str, *,
             during_stream: bool = False) -> ModelAPIError:
        return map_http_error(exc, provider=self.name, model=model,
                              during_stream=during_stream, secrets=self._secrets())

    def _status_error(self, response: Any, body: bytes, model: str) -> ModelAPIError:
        text = body.decode("utf-8", "replace")
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        vendor = self.vendor_error(response.status_code, data, model, response.headers)
        if vendor is not None:
            return vendor
        error = error_from_response(
            response.status_code, response.headers, text,
            provider=self.name, model=model, api_key_env=self.key_env_hint(),
            secrets=self._secrets())
        return refine(error, redact(text, self._secrets()))

    def key_env_hint(self) -> str | None:
        """The key variable to name in 401/403 errors (see ``api_key_env``)."""
        return key_variable(self._api_key, explicit=self.api_key_env,
                            default=self.default_api_key_env)

    def vendor_error(self, status: int, data: Any, model: str,
                     headers: Mapping[str, str]) -> ModelAPIError | None:
        """A typed error for the vendor's own error shape, or ``None`` to use the
        generic mapping. Called for HTTP errors, for HTTP-200 bodies that are not a
        completion, and for every streamed chunk; ``data`` is the decoded JSON
        (``None`` if the body was not JSON)."""
        return None

    def _payload_error(self, data: Any, model: str, status: int,
                       headers: Mapping[str, str]) -> ModelAPIError | None:
        """The error a 200 body carries instead of a completion, if it does."""
        vendor = self.vendor_error(status, data, model, headers)
        if vendor is not None:
            return vendor
        if isinstance(data, dict) and data.get("choices") and not data.get("error"):
            return None
        err = data.get("error") if isinstance(data, dict) else None
        message = err.get("message") if isinstance(err, dict) else err
        body = redact(json.dumps(data)[:2000], self._secrets())
        kind = error_kind(data) if isinstance(data, dict) else None
        return typed_error(kind, f"The API answered without choices: "
                                 f"{message or 'no error message'}",
                           provider=self.name, model=model, status=status, body=body,
                           retryable=True)

    def observe_response(self, response: httpx.Response) -> None:
        """Called with every HTTP response (errors included) before its body is read;
        subclasses read vendor headers (rate limits, request ids) here. On the aiohttp
        path ``response`` is an exchange with the same ``status_code`` and ``headers``."""

    def record_result(self, result: TAPResponse) -> TAPResponse:
        """Called with every successful answer (sent or streamed); returns it."""
        return result

    def request_timeout(self, compiled: CompiledPrompt) -> float | None:
        """A per-request timeout overriding ``timeout`` (``None``: the default)."""
        return None

    # --- request bodies ---------------------------------------------------------------

    def build_body(self, compiled: CompiledPrompt, model: str, *, stream: bool) -> dict[str, Any]:
        """The JSON body for ``compiled`` (mode B becomes a system + user message)."""
        messages = []
        for message in compiled.as_messages():
            if message.get("role") == "assistant" and any(
                    k in message for k in _FOREIGN_MESSAGE_KEYS):
                message = {k: v for k, v in message.items()
                           if k not in _FOREIGN_MESSAGE_KEYS}
            messages.append(message)
        body: dict[str, Any] = {"model": model, "messages": messages}
        if compiled.tools:
            body["tools"] = list(compiled.tools)
        extra = compiled.extra or {}
        for key, value in extra.items():
            if key in REQUEST_PARAMS and value is not None:
                body[key] = value
        extra_body = extra.get("extra_body")
        if isinstance(extra_body, dict):
            body.update(extra_body)
        if stream:
            body["stream"] = True
            if self.include_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    # --- send -------------------------------------------------------------------------

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        body = self.build_body(compiled, model, stream=False)
        errors = self._errors()
        response: HttpxExchange | AiohttpExchange | None = None
        try:
            response = await self._open(body, compiled, stream=False)
            content = await response.read()
        except errors as exc:
            raise self._map(exc, model) from None
        finally:
            if response is not None:
                await response.close()
        await self._observe(response)
        if response.status_code >= 400:
            raise self._status_error(response, content, model)
        data = response_json(content, status=response.status_code, provider=self.name,
                             model=model)
        error = self._payload_error(data, model, response.status_code, response.headers)
        if error is not None:
            raise error
        return self.record_result(self.parse_completion(data, model,
                                                        status=response.status_code))

    def parse_completion(self, data: Any, model: str, *, status: int = 200) -> TAPResponse:
        """A ``chat.completion`` object as a :class:`TAPResponse`."""
        from teragent.core.tap import TAPResponse
        from teragent.core.types import ToolCall
        from teragent_openai.stream import arguments_text, details_text, int_usage, split_think

        if not isinstance(data, dict) or data.get("error") or not data.get("choices"):
            error = self._payload_error(data, model, status, {})
            if error is not None:
                raise error
        choice = data["choices"][0]
        message = choice.get("message") or {}
        calls = []
        for i, raw in enumerate(message.get("tool_calls") or []):
            fn = raw.get("function") or {}
            calls.append(ToolCall.from_raw(str(raw.get("id") or f"call_{i}"),
                                           str(fn.get("name") or ""),
                                           arguments_text(fn.get("arguments"))))
        usage, cached = int_usage(data.get("usage"))
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if not (isinstance(reasoning, str) and reasoning):
            reasoning = details_text(message.get("reasoning_details"))
        content = message.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str) and content:
            content, tagged = split_think(content)
            if tagged:
                reasoning = f"{reasoning}{tagged}" if reasoning else tagged
        refusal = message.get("refusal")
        return TAPResponse(
            raw_text=content or "",
            usage=usage,
            tool_calls=calls,
            finish_reason=choice.get("finish_reason"),
            cache_hit_tokens=cached,
            thinking_content=reasoning if isinstance(reasoning, str) and reasoning else None,
            refusal=refusal if isinstance(refusal, str) and refusal else None,
            model=str(data.get("model") or model),
        )

    def count_usage(self, body: Mapping[str, Any], assembler: StreamAssembler
                    ) -> dict[str, int]:
        """Usage for a stream that reported none: one completion token per streamed
        delta (servers that omit usage, like ``llama_cpp.server``, stream one token a
        chunk) and an estimate of the prompt."""
        from teragent.core.tap import estimate_tokens
        from teragent_openai.stream import count_prompt_tokens

        completion = assembler.deltas or estimate_tokens(
            "".join(assembler.text) + "".join(assembler.thinking))
        prompt = count_prompt_tokens(body)
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    # --- stream -----------------------------------------------------------------------

    async def stream_events(
        self, compiled: CompiledPrompt, model: str
    ) -> AsyncIterator[StreamEvent]:
        from teragent.core.types import StreamFinished, UsageUpdate
        from teragent_openai.stream import StreamAssembler, replay

        body = self.build_body(compiled, model, stream=True)
        client = self._get_client()
        headers_seen: dict[str, str] = {}

        def check(chunk: dict[str, Any]) -> ModelAPIError | None:
            return self.vendor_error(200, chunk, model, headers_seen)

        assembler = StreamAssembler(provider=self.name, model=model,
                                    require_done=self.require_done, check=check)
        decoder = SSEDecoder()
        errors = self._errors()
        try:
            response = await self._open(body, compiled, stream=True)
        except errors as exc:
            raise self._map(exc, model) from None
        try:
            await self._observe(response)
            if response.status_code >= 400:
                try:
                    content = await response.read()
                except errors as exc:
                    raise self._map(exc, model) from None
                raise self._status_error(response, content, model)
            headers_seen.update((k.lower(), v) for k, v in response.headers.items())
            chunks: Any = None
            if "json" in response.headers.get("content-type", "").lower():
                # An answer as a JSON body instead of an event stream: MiniMax's
                # HTTP-200 base_resp errors, gateways' error objects, or a server that
                # ignores "stream" and sends the whole completion.
                try:
                    content = await response.read()
                except errors as exc:
                    raise self._map(exc, model, during_stream=True) from None
                if not looks_like_sse(content):  # else an event stream labelled JSON
                    try:
                        data = json.loads(content)
                    except ValueError:
                        data = None
                    error = self._payload_error(data, model, response.status_code,
                                                response.headers)
                    if error is not None:
                        raise error
                    result = self.record_result(self.parse_completion(data, model))
                    for out in replay(result):
                        yield out
                    return
                chunks = one_chunk(content)
            try:
                async for chunk in chunks or response.chunks():
                    for event in decoder.feed(chunk):
                        for out in self._on_sse(assembler, event.event, event.data):
                            yield out
                    if assembler.done:
                        break
            except errors as exc:
                raise self._map(exc, model, during_stream=True) from None
            if not assembler.done:
                for event in decoder.flush():
                    for out in self._on_sse(assembler, event.event, event.data):
                        yield out
            for out in assembler.finish():
                if isinstance(out, StreamFinished):
                    if not out.response.usage:
                        out.response.usage = self.count_usage(body, assembler)
                        out.response.usage_estimated = True
                        yield UsageUpdate(usage=dict(out.response.usage),
                                          cache_hit_tokens=None)
                    self.record_result(out.response)
                yield out
        finally:
            await response.close()

    def _on_sse(self, assembler: StreamAssembler, event: str, data: str) -> list[StreamEvent]:
        if event == "error":
            try:
                obj = json.loads(data)
            except ValueError:
                obj = None
            if isinstance(obj, dict):  # raises, with the vendor's own message
                return assembler.feed(obj if obj.get("error") else {"error": obj})
            text = (f"The server reported an error inside the stream: "
                    f"{redact(data[:500], self._secrets())}")
            try:
                kind = error_kind(json.loads(data))
            except ValueError:
                kind = None
            if kind in (None, "rate_limit"):
                raise StreamError(text, provider=self.name, model=assembler.model,
                                  body=data, retryable=True)
            raise typed_error(kind, text, provider=self.name, model=assembler.model,
                              body=data)
        if not data:
            return []
        return assembler.feed_data(data)
