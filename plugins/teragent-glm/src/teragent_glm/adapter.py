"""The ``glm_native`` adapter: Zhipu AI's ``chat/completions`` dialect.

Differences from plain OpenAI that it handles:

- ``thinking`` request parameter (``{"type": "enabled" | "disabled"}``), set from
  ``extra["thinking_mode"]`` (``high``/``max``/``deep``/``auto`` → enabled, ``quick`` →
  disabled) unless ``extra["thinking"]`` is given. GLM-5.2's two depths are the
  documented ``reasoning_effort`` values: ``high`` (增强推理) for High and ``max``
  (深度推理, the server default) for Max; ``quick`` sends no effort.
- reasoning round trips (docs.bigmodel.cn, 思考模式): with interleaved thinking the
  ``reasoning_content`` of tool-calling turns must go back with the tool results, so
  turns after the last user message keep it; earlier turns lose it, unless
  PreservedThinking is on (``extra["preserved_thinking"]`` or the adapter option
  ``preserved_thinking=True``), which sends ``"clear_thinking": false`` and keeps
  every earlier ``reasoning_content`` unchanged.
- business error codes: ``1261`` (prompt too long) → :class:`ContextOverflowError`;
  ``1113`` (account in arrears, sent as HTTP 429) → :class:`QuotaExceededError`,
  never retried; context-length wording in Chinese or English →
  :class:`ContextOverflowError` (:mod:`teragent.core.http`).
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
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from teragent_openai.chat import ChatCompletionsAdapter
from teragent.core.http import response_json, typed_error
from teragent.errors import ModelAPIError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first request, not the adapter
    from teragent.core.tap import CompiledPrompt, TAPResponse

__all__ = ["GLMNativeAdapter", "BUSINESS_CODES", "EFFORT"]

_THINKING = {"high": "enabled", "max": "enabled", "deep": "enabled", "auto": "enabled",
             "quick": "disabled"}
#: thinking_mode → GLM-5.2's documented ``reasoning_effort``.
EFFORT = {"high": "high", "max": "max"}
#: Zhipu business codes (``error.code``) → the error kind they mean.
BUSINESS_CODES = {"1261": "context", "1113": "quota"}


class GLMNativeAdapter(ChatCompletionsAdapter):
    """GLM-5 / GLM-5.2 / GLM-5V-Turbo over Zhipu's native API.

    Args:
        base_url: Default ``https://open.bigmodel.cn/api/paas/v4``.
        api_key: Sent as ``Authorization: Bearer``; read it from ``GLM_API_KEY``.
        timeout: Seconds for an ordinary request (default 300).
        multimodal_timeout: Seconds for requests with images/video or a context window
            over 200K tokens (default 600).
        preserved_thinking: PreservedThinking for requests whose ``extra`` does not
            say (an agent's conversation): ``clear_thinking: false`` and every earlier
            ``reasoning_content`` kept (default ``False``, the standard endpoint's).
    """

    name: ClassVar[str] = "glm_native"
    default_api_key_env: ClassVar[str | None] = "GLM_API_KEY"

    def __init__(self, *, base_url: str | None = None, timeout: float = 300.0,
                 multimodal_timeout: float = 600.0, api_key_env: str | None = None,
                 include_usage: bool = False, preserved_thinking: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(base_url=base_url or "https://open.bigmodel.cn/api/paas/v4",
                         timeout=timeout, api_key_env=api_key_env,
                         include_usage=include_usage, **kwargs)
        self.multimodal_timeout = multimodal_timeout
        self.preserved_thinking = preserved_thinking

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
        preserved = bool(extra.get("preserved_thinking", self.preserved_thinking))
        mode = extra.get("thinking_mode")
        thinking = extra.get("thinking")
        if not isinstance(thinking, dict):
            thinking = {"type": _THINKING[mode]} if mode in _THINKING else None
        if mode == "quick":  # quick means no thinking, whatever else was merged in
            thinking = {"type": "disabled"}
        if thinking is not None and thinking.get("type") == "disabled":
            body.pop("reasoning_effort", None)
            preserved = False
        elif mode in EFFORT and "reasoning_effort" not in body:
            body["reasoning_effort"] = EFFORT[mode]
        if preserved:
            thinking = {**(thinking or {"type": "enabled"}), "clear_thinking": False}
        if thinking is not None:
            body["thinking"] = dict(thinking)
        body["messages"] = self._reasoning_history(body["messages"], preserved)
        return body

    @staticmethod
    def _reasoning_history(messages: list[dict[str, Any]],
                           preserved: bool) -> list[dict[str, Any]]:
        """Keep ``reasoning_content`` where Zhipu wants it back: every turn with
        PreservedThinking, else the current tool loop (after the last user message)."""
        if preserved:
            return messages
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        last_user = users[-1] if users else -1
        out = []
        for index, msg in enumerate(messages):
            if (index < last_user and msg.get("role") == "assistant"
                    and "reasoning_content" in msg):
                msg = {k: v for k, v in msg.items() if k != "reasoning_content"}
            out.append(msg)
        return out

    def vendor_error(self, status: int, data: Any, model: str,
                     headers: Mapping[str, str]) -> ModelAPIError | None:
        err = data.get("error") if isinstance(data, dict) else None
        code = str(err.get("code") or "") if isinstance(err, dict) else ""
        kind = BUSINESS_CODES.get(code)
        if kind is None:
            return None
        message = f"{err.get('message') or 'error'} (Zhipu code {code})"
        return typed_error(kind, message, provider=self.name, model=model, status=status,
                           body=json.dumps(data, ensure_ascii=False)[:2000])

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
        import httpx  # ~90 ms: loaded with the first request, not the adapter

        client = self._get_client()
        try:
            response = await client.request(method, path, **kwargs)
            content = response.content
        except httpx.HTTPError as exc:
            raise self._map(exc, model) from None
        self.observe_response(response)
        if response.status_code >= 400:
            raise self._status_error(response, content, model)
        return response_json(content, status=response.status_code, provider=self.name,
                             model=model)
