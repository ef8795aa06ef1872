"""Refusals surface as ``TAPResponse.refusal``; a stream without usage is counted;
OpenAI's ``insufficient_quota`` 429 is not retried; ``<think>`` splitting holds for
any chunking (hypothesis)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import teragent
from teragent_openai.stream import ThinkSplitter, split_think
from teragent.errors import QuotaExceededError, RateLimitError
from teragent_testing.contract import provider_response
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply

REFUSAL = "I'm sorry, I can't help with that."


def _provider(server: FakeOpenAIServer) -> Any:
    return teragent.create_provider(adapter="openai_compatible", model="gpt-test",
                                    base_url="http://fake.test/v1",
                                    transport=httpx.ASGITransport(app=server))


def _answer(server: FakeOpenAIServer, stream: bool) -> Any:
    return provider_response(_provider(server), [{"role": "user", "content": "hi"}],
                             stream=stream)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_refusal_surfaces(stream: bool) -> None:
    server = FakeOpenAIServer().script(ScriptedReply(refusal=REFUSAL))
    response = _answer(server, stream)
    assert response.refusal == REFUSAL
    assert response.raw_text == "" and response.finish_reason == "stop"


def test_refusal_matches_the_openai_sdk() -> None:
    openai = pytest.importorskip("openai")
    from teragent_testing.fake_openai import serve_in_thread

    server = FakeOpenAIServer().script(ScriptedReply(refusal=REFUSAL))
    with serve_in_thread(server) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        try:
            message = client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}]
            ).choices[0].message
        finally:
            client.close()
    assert message.refusal == REFUSAL and message.content is None


def test_stream_without_usage_is_counted() -> None:
    server = FakeOpenAIServer().script(ScriptedReply(text="one two three", chunk_size=4,
                                                     omit_usage=True))
    response = _answer(server, True)
    assert response.usage_estimated is True
    assert response.completion_tokens == 4  # one per streamed delta
    assert response.prompt_tokens > 0
    assert response.total_tokens == response.prompt_tokens + response.completion_tokens


def test_reported_usage_is_not_estimated() -> None:
    server = FakeOpenAIServer().script(ScriptedReply(text="x", usage={
        "prompt_tokens": 9, "completion_tokens": 1}))
    response = _answer(server, True)
    assert response.usage_estimated is False and response.prompt_tokens == 9


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_insufficient_quota_is_not_a_rate_limit(stream: bool) -> None:
    body = {"error": {"message": "You exceeded your current quota, please check your "
                                 "plan and billing details.",
                      "type": "insufficient_quota", "param": None,
                      "code": "insufficient_quota"}}
    server = FakeOpenAIServer().script(ScriptedReply(status=429, error_body=body))
    with pytest.raises(QuotaExceededError) as info:
        _answer(server, stream)
    assert not isinstance(info.value, RateLimitError) and info.value.retryable is False
    assert info.value.status == 429


@given(st.text(max_size=30), st.text(max_size=30), st.lists(st.integers(1, 12), max_size=8),
       st.booleans())
def test_think_split_is_independent_of_chunking(thinking: str, text: str,
                                                cuts: list[int], tagged: bool) -> None:
    content = f"<think>{thinking.replace('<', '')}</think>\n\n{text}" if tagged else text
    pieces, rest = [], content
    for size in cuts:
        pieces.append(rest[:size])
        rest = rest[size:]
    pieces.append(rest)
    splitter, parts = ThinkSplitter(), []
    for piece in pieces:
        parts += splitter.feed(piece)
    parts += splitter.flush()
    streamed = ("".join(p for k, p in parts if k == "text"),
                "".join(p for k, p in parts if k == "thinking"))
    assert streamed == split_think(content)
    if tagged:
        assert streamed[1] == thinking.replace("<", "")
