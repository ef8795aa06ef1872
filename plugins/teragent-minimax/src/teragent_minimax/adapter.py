"""The ``minimax_native`` adapter: MiniMax M3 over its two interfaces.

- ``interface="openai"`` (default): ``POST {base_url}/chat/completions``, OpenAI
  dialect (image and video content parts, ``reasoning_content``); with video, the
  compiler's ``minimax_video_mode`` / ``minimax_frame_sampling`` hints are sent as the
  ``video_mode`` / ``frame_sampling`` request fields.
- ``interface="anthropic"``: MiniMax's Anthropic-compatible endpoint,
  ``POST {anthropic_base_url}/messages`` (``{root}/anthropic/v1`` by default), through
  the kernel's Messages codec. ``extra["minimax_interface"]`` picks one per request.

Thinking (platform.minimax.io, "OpenAI API compatible"): M3 writes its reasoning into
``content`` as ``<think>…</think>`` unless the request sets ``reasoning_split``; the
OpenAI interface sets it (``reasoning_split=False`` to opt out), reads
``reasoning_details`` into ``thinking_content``, and still separates a leading
``<think>`` block if one arrives, so thinking never lands in ``raw_text``. MiniMax asks
for the whole assistant message back in multi-turn tool calls: earlier turns'
``reasoning_content`` goes back as ``reasoning_details`` (or, without
``reasoning_split``, as the ``<think>`` block in ``content``). Over the Anthropic
interface thinking arrives as signed thinking blocks, handled by the Messages codec.

Errors answered with HTTP 200 and a ``base_resp`` status (documented only by third
parties; see the README) become typed errors: 1002 → :class:`RateLimitError` (and
:attr:`rate_limit_info` marks the window exhausted), 1004 → a non-retryable error
naming the key variable, 1008 (and 1028/1030/2061, quota and plan codes seen in
MiniMax's own CLI) → :class:`QuotaExceededError`, 1000/1001/1024/1033 → retryable,
others → non-retryable.

Every response's rate-limit headers update :attr:`MiniMaxNativeAdapter.rate_limit_info`;
every answer's usage adds to :attr:`MiniMaxNativeAdapter.billing_summary`.
:meth:`MiniMaxNativeAdapter.send_desktop_command` posts to a dedicated desktop endpoint
and falls back to a chat completion when that endpoint answers 404.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, ClassVar, Mapping

from teragent.core.adapter import TAPAdapter
from teragent.core.headers import parse_rate_limit_headers
from teragent.core.http import response_json, typed_error
from teragent_anthropic.adapter import MessagesAdapter
from teragent_openai.chat import ChatCompletionsAdapter
from teragent.errors import ModelAPIError, UserError

if TYPE_CHECKING:  # httpx (~90 ms) and the TAP IR (pydantic) load with the first request
    import httpx

    from teragent.core.tap import CompiledPrompt, TAPResponse
    from teragent.core.types import StreamEvent

__all__ = ["MiniMaxNativeAdapter", "MiniMaxRateLimitInfo", "BASE_RESP_CODES"]

#: ``base_resp.status_code`` → error kind (``None``: a plain error, retried when listed
#: in ``_RETRY_CODES``). From MiniMax's error-code page, plus 1028/1030/2061 (quota and
#: plan) and 1026/1027/1039 (content filters) as MiniMax's own CLI maps them.
BASE_RESP_CODES: dict[int, str | None] = {
    1002: "rate_limit", 1004: "auth", 1008: "quota", 1028: "quota", 1030: "quota",
    2061: "quota", 1039: None, 1026: None, 1027: None,
}
_RETRY_CODES = {1000, 1001, 1024, 1033}

@dataclass
class MiniMaxRateLimitInfo:
    """Rate-limit state from the latest response headers.

    Attributes:
        limit: Requests allowed in the current window (0 = unknown).
        remaining: Requests left in the window.
        reset: Unix timestamp when the window resets (0 = unknown).
    """

    limit: int = 0
    remaining: int = 0
    reset: float = 0.0

    @property
    def is_exhausted(self) -> bool:
        return self.limit > 0 and self.remaining <= 0 and self.reset_in_seconds > 0

    @property
    def reset_in_seconds(self) -> float:
        return max(0.0, self.reset - time.time()) if self.reset else 0.0

    def update(self, headers: Mapping[str, str], status: int = 200) -> bool:
        """Read the rate-limit headers (``x-ratelimit-*``, ``-requests`` suffixed or not,
        through the kernel's :func:`~teragent.core.http.parse_rate_limit_headers`);
        returns whether any was present."""
        h = parse_rate_limit_headers(headers)
        seen = False
        if h.limit is not None:
            self.limit, seen = h.limit, True
        if h.remaining is not None:
            self.remaining, seen = h.remaining, True
        if h.reset_at is not None:
            self.reset, seen = h.reset_at, True
        if status == 429:
            self.remaining = 0
            if h.retry_after is not None:
                self.reset = max(self.reset, time.time() + h.retry_after)
            seen = True
        return seen


class _OpenAIInterface(ChatCompletionsAdapter):
    name: ClassVar[str] = "minimax_native"
    default_api_key_env: ClassVar[str | None] = "MINIMAX_API_KEY"

    def __init__(self, owner: "MiniMaxNativeAdapter", *, reasoning_split: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner
        self.reasoning_split = reasoning_split

    def vendor_error(self, status: int, data: Any, model: str,
                     headers: Mapping[str, str]) -> ModelAPIError | None:
        return self.owner._base_resp_error(self, status, data, model, headers)

    def observe_response(self, response: httpx.Response) -> None:
        self.owner._observe(response)

    def record_result(self, result: TAPResponse) -> TAPResponse:
        return self.owner._bill(result)

    def request_timeout(self, compiled: CompiledPrompt) -> float | None:
        return self.owner.request_timeout(compiled)

    def build_body(self, compiled: CompiledPrompt, model: str, *, stream: bool) -> dict[str, Any]:
        body = super().build_body(compiled, model, stream=stream)
        extra = compiled.extra or {}
        split = bool(body.setdefault("reasoning_split",
                                     extra.get("reasoning_split", self.reasoning_split)))
        body["messages"] = [_outbound(m, split) for m in body["messages"]]
        if extra.get("minimax_video_mode"):
            body["video_mode"] = extra["minimax_video_mode"]
        if extra.get("minimax_frame_sampling"):
            body["frame_sampling"] = extra["minimax_frame_sampling"]
        return body


def _outbound(message: dict[str, Any], split: bool) -> dict[str, Any]:
    """An assistant message as MiniMax wants it back: its reasoning in
    ``reasoning_details`` (with ``reasoning_split``) or as the ``<think>`` block."""
    reasoning = message.get("reasoning_content")
    if message.get("role") != "assistant" or not reasoning:
        return message
    out = {k: v for k, v in message.items() if k != "reasoning_content"}
    if split:
        out.setdefault("reasoning_details", [{"type": "reasoning.text", "text": reasoning}])
    else:
        content = out.get("content") or ""
        if not (isinstance(content, str) and content.lstrip().startswith("<think>")):
            # exactly the block the answer came with (the splitter keeps its inside)
            out["content"] = f"<think>{reasoning}</think>\n\n{content}"
    return out


class _AnthropicInterface(MessagesAdapter):
    name: ClassVar[str] = "minimax_native"
    default_api_key_env: ClassVar[str | None] = "MINIMAX_API_KEY"

    def __init__(self, owner: "MiniMaxNativeAdapter", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner

    def observe_response(self, response: httpx.Response) -> None:
        self.owner._observe(response)

    def record_result(self, result: TAPResponse) -> TAPResponse:
        return self.owner._bill(result)


class MiniMaxNativeAdapter(TAPAdapter):
    """MiniMax M3: OpenAI and Anthropic-compatible interfaces, video, desktop.

    Args:
        base_url: OpenAI-interface root (default ``https://api.minimaxi.com/v1``).
        api_key: Sent as ``Authorization: Bearer`` (OpenAI) / ``x-api-key`` (Anthropic).
        group_id: Sent as the ``GroupId`` query parameter on the desktop endpoint.
        timeout: Seconds for ordinary requests.
        multimodal_timeout: Seconds for requests with images or video.
        interface: ``"openai"`` (default) or ``"anthropic"``.
        anthropic_base_url: Root of the Anthropic-compatible interface (default: the
            host of ``base_url`` + ``/anthropic/v1``).
        desktop_path: The desktop endpoint, relative to ``base_url``.
        enable_fake_tools: Prompt-emulated tool calling; not supported (must be False).
        reasoning_split: Ask the OpenAI interface for reasoning in
            ``reasoning_details`` (default ``True``; ``extra["reasoning_split"]``
            overrides it per request).
    """

    name: ClassVar[str] = "minimax_native"
    required_mode: ClassVar[str] = "any"

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 300.0, transport: Any = None, group_id: str | None = None,
                 multimodal_timeout: float = 600.0, interface: str = "openai",
                 anthropic_base_url: str | None = None,
                 desktop_path: str = "desktop/command", enable_fake_tools: bool = False,
                 api_key_env: str | None = None, reasoning_split: bool = True,
                 headers: dict[str, str] | None = None, **options: Any) -> None:
        base_url = base_url or "https://api.minimaxi.com/v1"
        super().__init__(base_url=base_url, api_key=api_key, timeout=timeout,
                         transport=transport, **options)
        if interface not in ("openai", "anthropic"):
            raise UserError(f"minimax_native interface must be 'openai' or 'anthropic', "
                            f"got {interface!r}.")
        if enable_fake_tools:
            raise UserError("minimax_native does not emulate tool calls "
                            "(enable_fake_tools=True); MiniMax M3 calls tools natively, so "
                            "leave it False.")
        self.interface = interface
        self.group_id = group_id
        self.multimodal_timeout = multimodal_timeout
        self.desktop_path = desktop_path
        root = re.sub(r"/v\d+/?$", "", base_url.rstrip("/"))
        self.anthropic_base_url = anthropic_base_url or f"{root}/anthropic/v1"
        common = {"api_key": api_key, "timeout": timeout, "transport": transport,
                  "api_key_env": api_key_env, "headers": headers}
        self._openai = _OpenAIInterface(self, base_url=base_url,
                                        reasoning_split=reasoning_split, **common)
        self._anthropic = _AnthropicInterface(self, base_url=self.anthropic_base_url, **common)
        self._rate_limit = MiniMaxRateLimitInfo()
        self._billing = {"input_tokens": 0, "output_tokens": 0, "cache_tokens": 0,
                         "total_tokens": 0, "request_count": 0}
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "multimodal": True, "desktop": True, "video": True,
                "msa_efficient": True, "thinking": True, "max_context_tokens": 1_000_000,
                "interfaces": ["openai", "anthropic"]}

    @property
    def rate_limit_info(self) -> MiniMaxRateLimitInfo:
        return self._rate_limit

    @property
    def billing_summary(self) -> dict[str, int]:
        with self._lock:
            return dict(self._billing)

    def request_timeout(self, compiled: CompiledPrompt) -> float | None:
        has_media = any(isinstance(m.get("content"), list) for m in compiled.messages or [])
        return self.multimodal_timeout if has_media else None

    def _observe(self, response: httpx.Response) -> None:
        with self._lock:
            self._rate_limit.update(response.headers, response.status_code)

    def _base_resp_error(self, interface: ChatCompletionsAdapter, status: int, data: Any,
                         model: str, headers: Mapping[str, str]) -> ModelAPIError | None:
        """The typed error for a ``base_resp`` with a non-zero status, or ``None``."""
        base = data.get("base_resp") if isinstance(data, dict) else None
        if not isinstance(base, dict):
            return None
        try:
            code = int(base.get("status_code") or 0)
        except (TypeError, ValueError):
            return None
        if code == 0:
            return None
        text = f"MiniMax error {code}: {base.get('status_msg') or 'no message'}"
        if code == 1004:
            var = interface.key_env_hint() or "the API key environment variable"
            text += f". Check that {var} holds a valid key for this base_url and model."
        kind = BASE_RESP_CODES.get(code)
        if kind == "rate_limit":
            with self._lock:
                self._rate_limit.update(headers, 429)
        return typed_error(kind, text, provider=self.name, model=model, status=status,
                           body=json.dumps(data, ensure_ascii=False)[:2000],
                           retry_after=parse_rate_limit_headers(headers).retry_after,
                           retryable=code in _RETRY_CODES)

    def _bill(self, result: TAPResponse) -> TAPResponse:
        with self._lock:
            self._billing["input_tokens"] += result.prompt_tokens
            self._billing["output_tokens"] += result.completion_tokens
            self._billing["cache_tokens"] += result.cache_hit_tokens or 0
            self._billing["total_tokens"] += result.total_tokens
            self._billing["request_count"] += 1
        return result

    def _pick(self, compiled: CompiledPrompt) -> TAPAdapter:
        choice = (compiled.extra or {}).get("minimax_interface", self.interface)
        if choice not in ("openai", "anthropic"):
            raise UserError(f"extra['minimax_interface'] must be 'openai' or 'anthropic', "
                            f"got {choice!r}.")
        return self._anthropic if choice == "anthropic" else self._openai

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        return await self._pick(compiled).send(compiled, model)

    async def stream_events(self, compiled: CompiledPrompt,
                            model: str) -> AsyncIterator[StreamEvent]:
        async for event in self._pick(compiled).stream_events(compiled, model):
            yield event

    async def aclose(self) -> None:
        await self._openai.aclose()
        await self._anthropic.aclose()

    # --- desktop ----------------------------------------------------------------------

    async def send_desktop_command(self, command: str, params: dict[str, Any] | None = None,
                                   screenshot: str | None = None,
                                   interactive_elements: list[Any] | None = None,
                                   active_window: str | None = None,
                                   model: str = "minimax-m3") -> dict[str, Any]:
        """Ask M3 for the next desktop action.

        Returns:
            ``{"action": ..., "reasoning": ..., "raw_response": ...}`` (plus
            ``"fallback": True`` when the chat interface answered instead).
        """
        body = {"model": model, "command": command, "params": params or {},
                "screenshot": screenshot, "interactive_elements": interactive_elements or [],
                "active_window": active_window}
        import httpx

        client = self._openai._get_client()
        query = {"GroupId": self.group_id} if self.group_id else None
        seconds = self.multimodal_timeout if screenshot else self.timeout
        try:
            response = await client.post(self.desktop_path, json=body, params=query,
                                         timeout=httpx.Timeout(seconds,
                                                               connect=min(seconds, 30.0)))
            content = response.content
        except httpx.HTTPError as exc:
            raise self._openai._map(exc, model) from None
        self._observe(response)
        if response.status_code == 404:
            return await self._desktop_via_chat(command, params, screenshot,
                                                interactive_elements, active_window, model)
        if response.status_code >= 400:
            raise self._openai._status_error(response, content, model)
        data = response_json(content, status=response.status_code, provider=self.name,
                             model=model, what="The desktop endpoint")
        return {"action": data.get("action"), "reasoning": data.get("reasoning", ""),
                "raw_response": data}

    async def _desktop_via_chat(self, command: str, params: dict[str, Any] | None,
                                screenshot: str | None, interactive_elements: list[Any] | None,
                                active_window: str | None, model: str) -> dict[str, Any]:
        from teragent.core.tap import TAPRequest
        from teragent_minimax.compiler import MiniMaxM3Compiler

        desktop = {"screenshot": screenshot, "active_window": active_window,
                   "interactive_elements": interactive_elements or []}
        instruction = command + (f"\nParameters: {json.dumps(params)}" if params else "")
        compiled = MiniMaxM3Compiler().compile(TAPRequest(
            meta={"intent": "execute"}, instruction=instruction,
            context={"desktop": {k: v for k, v in desktop.items() if v}}))
        response = await self._openai.send(compiled, model)
        text = response.raw_text or ""
        parsed = _first_json_object(text)
        action: Any = None
        reasoning = ""
        if isinstance(parsed, dict):
            action = ({"name": parsed.get("action"), "params": parsed.get("params") or {}}
                      if isinstance(parsed.get("action"), str) else parsed.get("action"))
            reasoning = str(parsed.get("reasoning", ""))
        return {"action": action, "reasoning": reasoning, "raw_response": text,
                "fallback": True}


def _first_json_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        return obj
    return None
