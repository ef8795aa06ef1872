"""Helpers: an adapter over httpx.MockTransport that streams given byte chunks."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import httpx

from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.core.types import StreamFinished
from teragent_openai.adapter import OpenAICompatibleAdapter

PROMPT = CompiledPrompt(messages=[{"role": "user", "content": "hi"}])


def chunked_transport(chunks: list[bytes], status: int = 200,
                      headers: dict[str, str] | None = None) -> httpx.MockTransport:
    """A transport answering every request with ``chunks`` as a streamed body."""
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": "text/event-stream",
                                               **(headers or {})}, content=body())

    return httpx.MockTransport(handler)


def stream_response(chunks: list[bytes], **adapter_options: Any) -> tuple[list[Any], TAPResponse]:
    """Run one ``stream_events`` over ``chunks``; return the events and the response."""
    async def main() -> tuple[list[Any], TAPResponse]:
        adapter = OpenAICompatibleAdapter(base_url="http://mock.test/v1",
                                          transport=chunked_transport(chunks),
                                          **adapter_options)
        events: list[Any] = []
        try:
            async for event in adapter.stream_events(PROMPT, "m"):
                events.append(event)
        finally:
            await adapter.aclose()
        assert isinstance(events[-1], StreamFinished)
        return events, events[-1].response

    return asyncio.run(main())
