"""The adapter seam: CompiledPrompt → a model API → TAPResponse.

Adding a wire protocol means adding an adapter; it never decides prompt wording.
Adapters translate vendor and HTTP exceptions into :mod:`teragent.errors` at this seam,
and take an optional httpx transport so tests can swap the network out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, AsyncIterator, ClassVar

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first request, not the adapter
    from teragent.core.tap import CompiledPrompt, TAPResponse
    from teragent.core.types import StreamEvent

__all__ = ["TAPAdapter", "TAPAdapterRegistry"]


class TAPAdapter(ABC):
    """Sends compiled prompts to one wire protocol.

    Args:
        base_url: The API root.
        api_key: The resolved key. Adapters keep it private and never log it; callers
            obtain it from ``api_key_env`` (see :mod:`teragent.config.secrets`).
        timeout: Seconds for a whole request.
        transport: An ``httpx.AsyncBaseTransport`` (tests pass a mock or an ASGI
            transport), or ``"httpx"`` / ``"aiohttp"`` to choose the HTTP stack.
        **options: Adapter-specific settings.
    """

    name: ClassVar[str] = ""
    #: "any", "messages" (mode A) or "system_user" (mode B).
    required_mode: ClassVar[str] = "any"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: Any = None,
        **options: Any,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.timeout = timeout
        self.transport = transport
        self.options = options

    def __repr__(self) -> str:
        key = "***" if self._api_key else None
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key!r})"

    @property
    def capabilities(self) -> dict[str, Any]:
        """Feature detection; subclasses extend this dict."""
        return {"streaming": True, "tool_calling": True, "multimodal": False,
                "thinking": False}

    def model_capabilities(self, model: str) -> dict[str, Any]:
        """What this adapter knows about ``model`` itself, merged over
        :attr:`capabilities` by :attr:`ModelProvider.capabilities
        <teragent.ModelProvider.capabilities>`. Must be cheap (no network, no model
        load). A known key: ``"tool_profile"``: ``"small"`` asks
        :func:`teragent.build_agent` to offer the ``[tools] small_profile`` set and the
        short system prompt (a model too small to choose among many tools)."""
        return {}

    @abstractmethod
    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        """Send ``compiled`` and return the whole answer."""

    async def stream_events(
        self, compiled: CompiledPrompt, model: str
    ) -> AsyncIterator[StreamEvent]:
        """Stream typed events; the last one is :class:`StreamFinished`.

        The default implementation calls :meth:`send` and replays its answer, for
        protocols without streaming. Streaming adapters override it.
        """
        from teragent.core.messages import (
            StreamFinished, TextDelta, ThinkingDelta, ToolCallReady, ToolCallStarted,
            UsageUpdate)

        response = await self.send(compiled, model)
        if response.thinking_content:
            yield ThinkingDelta(text=response.thinking_content)
        if response.raw_text:
            yield TextDelta(text=response.raw_text)
        for i, call in enumerate(response.tool_calls):
            yield ToolCallStarted(index=i, id=call.id, name=call.name)
            yield ToolCallReady(index=i, call=call)
        if response.usage:
            yield UsageUpdate(usage=response.usage, cache_hit_tokens=response.cache_hit_tokens)
        yield StreamFinished(response=response)

    async def stream(self, compiled: CompiledPrompt, model: str) -> AsyncIterator[str]:
        """Stream only the answer's text."""
        from teragent.core.messages import TextDelta

        async for event in self.stream_events(compiled, model):
            if isinstance(event, TextDelta):
                yield event.text

    async def aclose(self) -> None:
        """Release connections; safe to call twice."""

    async def close(self) -> None:
        await self.aclose()


class TAPAdapterRegistry:
    """Name → adapter class, filled by ``teragent_register_adapters`` hooks."""

    @staticmethod
    def get(name: str) -> type[TAPAdapter]:
        from teragent.plugins import get_host

        return get_host().registry("adapters").get(name)  # type: ignore[no-any-return]

    @staticmethod
    def register(name: str, cls: type[TAPAdapter] | str) -> None:
        from teragent.plugins import get_host

        get_host().registry("adapters").register(name, cls, plugin="(runtime)", replace=True)

    @staticmethod
    def list() -> list[str]:
        from teragent.plugins import get_host

        return get_host().registry("adapters").names()
