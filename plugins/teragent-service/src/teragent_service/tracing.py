"""``llm_request``/``llm_response`` events for conversations created with
``enable_tracing``: a provider wrapper that publishes every model call (main loop,
subagents: they share the conversation's provider) with its full payload."""

from __future__ import annotations

import itertools
from typing import Any, AsyncIterator, Iterator

from teragent.core.types import StreamFinished
from teragent.secrets import redact_arguments

from teragent_service.events import EventLog

__all__ = ["TracingProvider"]


def _calls(response: Any) -> list[dict[str, Any]]:
    # a tool's sensitive arguments (BaseTool.sensitive_params) never reach an event
    return [{"id": c.id, "name": c.name, "arguments": redact_arguments(c.name, c.arguments)}
            for c in getattr(response, "tool_calls", None) or []]


class TracingProvider:
    """Wraps a :class:`~teragent.ModelProvider`; every other attribute is the inner
    provider's (reads and writes), so the composition root wires it like the original."""

    def __init__(self, inner: Any, log: EventLog, *, agent: str = "lead",
                 calls: Iterator[int] | None = None) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_agent", agent)
        # Shared by every traced provider of a conversation, so ``call`` pairs uniquely.
        object.__setattr__(self, "_calls", calls if calls is not None else itertools.count(1))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def _request(self, messages: list[dict[str, Any]], tools: Any, extra: Any) -> int:
        n = next(self._calls)
        self._log.publish("llm_request", call=n, agent=self._agent,
                          model=str(getattr(self._inner, "model", "")),
                          messages=list(messages), tools=list(tools or []),
                          max_tokens=extra.get("max_tokens"))
        return n

    def _response(self, n: int, response: Any) -> None:
        self._log.publish("llm_response", call=n, agent=self._agent,
                          content=response.raw_text or "",
                          tool_calls=_calls(response), done=True,
                          usage=dict(response.usage or {}))

    async def complete(self, messages: list[dict[str, Any]], tools: Any = None,
                       **extra: Any) -> Any:
        n = self._request(messages, tools, extra)
        response = await self._inner.complete(messages, tools, **extra)
        self._response(n, response)
        return response

    async def stream_chat(self, messages: list[dict[str, Any]], tools: Any = None,
                          **extra: Any) -> AsyncIterator[Any]:
        n = self._request(messages, tools, extra)
        async for event in self._inner.stream_chat(messages, tools, **extra):
            if isinstance(event, StreamFinished):
                self._response(n, event.response)
            yield event
