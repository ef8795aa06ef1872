"""The ``{{ cookiecutter.__ident }}`` adapter: one wire protocol, spoken over httpx.

This sample speaks an OpenAI-style ``POST {base_url}/chat/completions`` without
streaming (``TAPAdapter.stream_events`` replays each answer); replace the request and
response mapping with your protocol's, and override ``stream_events`` to stream. Keep
the shape: take the httpx ``transport`` (tests pass ``httpx.MockTransport`` or an ASGI
fake server), never log the key, and translate every HTTP failure into
:mod:`teragent.errors` here, at the seam.
"""

from __future__ import annotations

from typing import Any

import httpx

from teragent.core.adapter import TAPAdapter
from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.core.types import ToolCall
from teragent.errors import ModelAPIError, ModelTimeoutError, RateLimitError

__all__ = ["{{ cookiecutter.__class_prefix }}Adapter"]


class {{ cookiecutter.__class_prefix }}Adapter(TAPAdapter):
    """Sends compiled prompts to a ``/chat/completions`` endpoint."""

    name = "{{ cookiecutter.__ident }}"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            transport = self.transport if isinstance(self.transport, httpx.AsyncBaseTransport) \
                else None
            self._client = httpx.AsyncClient(
                base_url=self.base_url or "http://127.0.0.1:8080/v1", headers=headers,
                timeout=self.timeout, transport=transport)
        return self._client

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        body: dict[str, Any] = {"model": model, "messages": compiled.as_messages()}
        if compiled.tools:
            body["tools"] = compiled.tools
        body.update(compiled.extra)
        try:
            response = await self._http().post("/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise ModelTimeoutError(f"{self.name}: the request timed out ({exc})",
                                    provider=self.name, model=model) from exc
        except httpx.HTTPError as exc:
            raise ModelAPIError(f"{self.name}: the request failed: {exc}",
                                provider=self.name, model=model) from exc
        if response.status_code >= 400:
            raise self._error(response, model)
        data = response.json()
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        return TAPResponse(
            raw_text=message.get("content") or "",
            thinking_content=message.get("reasoning_content"),
            tool_calls=[
                ToolCall.from_raw(call["id"], call["function"]["name"],
                                  call["function"].get("arguments") or "")
                for call in message.get("tool_calls") or []],
            finish_reason=choice.get("finish_reason"),
            usage={k: v for k, v in usage.items() if isinstance(v, int)},
            cache_hit_tokens=cached,
            model=data.get("model", model),
        )

    def _error(self, response: httpx.Response, model: str) -> ModelAPIError:
        """The typed error for a 4xx/5xx answer (the key is redacted by the error)."""
        try:
            detail = response.json().get("error", {}).get("message", "")
        except (ValueError, AttributeError):
            detail = ""
        error = RateLimitError if response.status_code == 429 else ModelAPIError
        retry_after = response.headers.get("retry-after")
        return error(f"{self.name}: the API refused the request: {detail}".rstrip(": "),
                     provider=self.name, model=model, status=response.status_code,
                     body=response.text,
                     retry_after=float(retry_after) if retry_after else None)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
