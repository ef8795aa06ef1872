"""The ``mock`` adapter: answers without any HTTP, for tests and dry runs.

It echoes the last user message (or returns the fixed ``responses`` given to it, in
order), and reports token usage from the same estimate the context window uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teragent.core.adapter import TAPAdapter

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first request
    from teragent.core.tap import CompiledPrompt, TAPResponse

__all__ = ["MockAdapter"]


class MockAdapter(TAPAdapter):
    name = "mock"

    def __init__(self, *, responses: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._responses = list(responses or [])
        self.calls: list[CompiledPrompt] = []

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "tool_calling": False, "network": False}

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        from teragent.core.tap import TAPResponse, estimate_tokens

        self.calls.append(compiled)
        messages = compiled.as_messages()
        if self._responses:
            text = self._responses.pop(0)
        else:
            last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
            content = last.get("content") if last else ""
            shown = content if isinstance(content, str) else repr(content)
            text = f"[mock:{model}] {shown}"
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
        completion = estimate_tokens(text)
        return TAPResponse(raw_text=text, finish_reason="stop", model=model,
                           usage={"prompt_tokens": prompt, "completion_tokens": completion,
                                  "total_tokens": prompt + completion})
