"""The ``glm_native`` adapter: Zhipu AI's ``chat/completions`` dialect.

Differences from plain OpenAI that it handles:

- ``thinking`` request parameter (``{"type": "enabled" | "disabled"}``), set from
  ``extra["thinking_mode"]`` (``high``/``max``/``deep`` → enabled, ``quick`` →
  disabled) unless ``extra["thinking"]`` is given; ``extra["preserved_thinking"]``
  adds ``"clear_thinking": false`` and keeps ``reasoning_content`` of earlier
  assistant turns in the history (otherwise it is stripped, as Zhipu expects).
- ``reasoning_content`` in answers and stream deltas → ``thinking_content``.
- cached prompt tokens (``usage.prompt_tokens_details.cached_tokens``) →
  ``cache_hit_tokens``; streams carry usage in their last chunk without
  ``stream_options``, so none is sent.
- async chat: :meth:`GLMNativeAdapter.submit_async` (``POST async/chat/completions``)
  and :meth:`GLMNativeAdapter.get_async_result` (``GET async-result/{id}``).
- 1M-context and multimodal requests get ``multimodal_timeout``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.core.wire.openai_chat import ChatCompletionsAdapter
from teragent.errors import ModelAPIError

__all__ = ["GLMNativeAdapter"]

_THINKING = {"high": "enabled", "max": "enabled", "deep": "enabled", "auto": "enabled",
             "quick": "disabled"}


class GLMNativeAdapter(ChatCompletionsAdapter):
    """GLM-5 / GLM-5.2 / GLM-5V-Turbo over Zhipu's native API.

    Args:
        base_url: Default ``https://open.bigmodel.cn/api/paas/v4``.
        api_key: Sent as ``Authorization: Bearer``; read it from ``GLM_API_KEY``.
        timeout: Seconds for an ordinary request (default 300).
        multimodal_timeout: Seconds for requests with images/video or a context window
            over 200K tokens (default 600).
    """

    name: ClassVar[str] = "glm_native"

    def __init__(self, *, base_url: str | None = None, timeout: float = 300.0,
                 multimodal_timeout: float = 600.0, api_key_env: str | None = "GLM_API_KEY",
                 include_usage: bool = False, **kwargs: Any) -> None:
        super().__init__(base_url=base_url or "https://open.bigmodel.cn/api/paas/v4",
                         timeout=timeout, api_key_env=api_key_env,
                         include_usage=include_usage, **kwargs)
        self.multimodal_timeout = multimodal_timeout

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "thinking_modes": ["high", "max"],
                "preserved_thinking": True, "async_chat": True, "video": True,
                "max_context_tokens": 1_000_000}

    def request_timeout(self, compiled: CompiledPrompt) -> float | None:
        extra = compiled.extra or {}
        heavy = (extra.get("vision_coordination") or extra.get("vision")
                 or int(extra.get("context_window") or 0) > 200_000
                 or any(isinstance(m.get("content"), list) for m in compiled.messages or []))
        return self.multimodal_timeout if heavy else None

    def build_body(self, compiled: CompiledPrompt, model: str, *, stream: bool) -> dict[str, Any]:
        body = super().build_body(compiled, model, stream=stream)
        extra = compiled.extra or {}
        preserved = bool(extra.get("preserved_thinking"))
        thinking = extra.get("thinking")
        if not isinstance(thinking, dict):
            mode = extra.get("thinking_mode")
            thinking = {"type": _THINKING[mode]} if mode in _THINKING else None
        if thinking is not None:
            thinking = dict(thinking)
            if preserved and thinking.get("type") == "enabled":
                thinking["clear_thinking"] = False
            body["thinking"] = thinking
        messages = []
        for msg in body["messages"]:
            if msg.get("role") == "assistant" and "reasoning_content" in msg and not preserved:
                msg = {k: v for k, v in msg.items() if k != "reasoning_content"}
            messages.append(msg)
        body["messages"] = messages
        return body

    # --- async chat -----------------------------------------------------------------

    async def submit_async(self, compiled: CompiledPrompt, model: str) -> str:
        """Start an async chat; returns the task id to poll with :meth:`get_async_result`."""
        body = self.build_body(compiled, model, stream=False)
        data = await self._json("POST", "async/chat/completions", model, json=body)
        task_id = data.get("id") if isinstance(data, dict) else None
        if not task_id:
            raise ModelAPIError("The async chat API answered without a task id.",
                                provider=self.name, model=model,
                                body=json.dumps(data)[:2000], retryable=True)
        return str(task_id)

    async def get_async_result(self, task_id: str, model: str = "") -> TAPResponse | None:
        """The finished answer of an async task, or ``None`` while it is processing.

        Raises:
            ModelAPIError: when the task failed.
        """
        data = await self._json("GET", f"async-result/{task_id}", model)
        status = data.get("task_status")
        if status == "PROCESSING":
            return None
        if status != "SUCCESS":
            raise ModelAPIError(f"The async task {task_id} ended with status {status!r}.",
                                provider=self.name, model=model,
                                body=json.dumps(data)[:2000], retryable=False)
        return self.record_result(self.parse_completion(data, model))

    async def _json(self, method: str, path: str, model: str, **kwargs: Any) -> Any:
        client = self._get_client()
        try:
            response = await client.request(method, path, **kwargs)
            content = response.content
        except httpx.HTTPError as exc:
            raise self._map(exc, model) from None
        self.observe_response(response)
        if response.status_code >= 400:
            raise self._status_error(response, content, model)
        try:
            return json.loads(content)
        except ValueError:
            raise ModelAPIError("The API answered with a body that is not JSON.",
                                provider=self.name, model=model, status=response.status_code,
                                body=content.decode("utf-8", "replace"),
                                retryable=True) from None
