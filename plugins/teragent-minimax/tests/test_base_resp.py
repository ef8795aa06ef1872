"""MiniMax's HTTP-200 ``base_resp`` errors become typed errors with the right
``retryable``, sent or streamed, on both interfaces' chat path; a rate-limit status
updates ``rate_limit_info``. (These HTTP-200 errors are documented by third parties,
see the README.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from teragent.core.tap import CompiledPrompt
from teragent.errors import ModelAPIError, QuotaExceededError, RateLimitError
from teragent_testing.contract import provider_response
from teragent_testing.fake_minimax import FakeMiniMaxServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_minimax.adapter import MiniMaxNativeAdapter

PROMPT = CompiledPrompt(messages=[{"role": "user", "content": "hi"}])


def _base(code: int, msg: str) -> ScriptedReply:
    return ScriptedReply(raw_body={"id": "x", "choices": None,
                                   "base_resp": {"status_code": code, "status_msg": msg}})


def _fail(server: FakeMiniMaxServer, stream: bool, **kwargs: Any) -> tuple[ModelAPIError, Any]:
    adapter = MiniMaxNativeAdapter(base_url="http://fake.test/v1",
                                   transport=httpx.ASGITransport(app=server), **kwargs)

    async def main() -> None:
        try:
            if stream:
                async for _ in adapter.stream_events(PROMPT, "MiniMax-M3"):
                    pass
            else:
                await adapter.send(PROMPT, "MiniMax-M3")
        finally:
            await adapter.aclose()

    with pytest.raises(ModelAPIError) as info:
        asyncio.run(main())
    return info.value, adapter


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("code, msg, cls, retryable", [
    (1008, "insufficient balance", QuotaExceededError, False),
    (1002, "rate limit", RateLimitError, True),
    (1004, "not authorized", ModelAPIError, False),
    (1000, "unknown error", ModelAPIError, True),
    (2013, "invalid params", ModelAPIError, False),
])
def test_http_200_base_resp_is_typed(code: int, msg: str, cls: type, retryable: bool,
                                     stream: bool) -> None:
    server = FakeMiniMaxServer().script(_base(code, msg))
    error, adapter = _fail(server, stream)
    assert type(error) is cls, error
    assert error.retryable is retryable and error.status == 200
    assert str(code) in str(error)
    if code == 1002:
        assert adapter.rate_limit_info.remaining == 0
    if code == 1004:
        assert "MINIMAX_API_KEY" in str(error)


def test_quota_is_not_retried_by_the_provider() -> None:
    import teragent
    from teragent.core.tap import TAPRequest

    server = FakeMiniMaxServer().script(_base(1008, "insufficient balance"),
                                        ScriptedReply(text="never"))
    provider = teragent.create_provider(
        compiler="minimax_m3", adapter="minimax_native", model="MiniMax-M3",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server))

    async def main() -> None:
        async with provider:
            await provider.execute_tap_with_retry(TAPRequest(instruction="hi"),
                                                  max_retries=3, base_delay=0)

    with pytest.raises(QuotaExceededError):
        asyncio.run(main())
    assert len(server.requests) == 1


def test_reasoning_never_lands_in_raw_text_openai_compatible() -> None:
    """openai_compatible against MiniMax without reasoning_split: the <think> block is
    moved to thinking_content, streamed or not."""
    import teragent

    for stream in (False, True):
        server = FakeMiniMaxServer().script(ScriptedReply(text="答复", reasoning="想一想"))
        provider = teragent.create_provider(
            compiler="default", adapter="openai_compatible", model="MiniMax-M3",
            base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server))
        response = provider_response(provider, [{"role": "user", "content": "hi"}],
                                     stream=stream)
        assert response.raw_text == "答复"
        assert response.thinking_content.strip() == "想一想"
