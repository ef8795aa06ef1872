"""Broken streams raise StreamError; nothing is silently swallowed."""

from __future__ import annotations

import json

import pytest

from teragent.errors import ModelAPIError, RateLimitError, StreamError
from teragent_testing.fake_openai import ScriptedReply, encode_stream

from .helpers import stream_response

REQUEST = {"model": "m", "messages": [], "stream": True,
           "stream_options": {"include_usage": True}}


def _events(reply: ScriptedReply) -> list[bytes]:
    return encode_stream(reply, REQUEST)


def test_missing_done_raises_when_required() -> None:
    with pytest.raises(StreamError, match="DONE"):
        stream_response(_events(ScriptedReply(text="hi", omit_done=True)),
                        require_done=True)


def test_missing_done_accepted_by_default_once_finished() -> None:
    _, response = stream_response(_events(ScriptedReply(text="hi", omit_done=True)))
    assert response.raw_text == "hi" and response.finish_reason == "stop"


def test_truncated_mid_tool_call_raises_even_when_done_not_required() -> None:
    events = _events(ScriptedReply(tool_calls=[("f", {"a": 1})], chunk_size=2))
    with pytest.raises(StreamError):
        stream_response(events[:4], require_done=False)


def test_empty_body_raises() -> None:
    with pytest.raises(StreamError):
        stream_response([])


@pytest.mark.parametrize("bad", [b"data: {not json}\n\n", b"data: {\"choices\": [\n\n",
                                 b"data: [1, 2]\n\n"])
def test_malformed_json_raises(bad: bytes) -> None:
    events = _events(ScriptedReply(text="hello"))
    with pytest.raises(StreamError, match="malformed|non-object"):
        stream_response(events[:2] + [bad] + events[2:])


def test_error_object_in_stream_raises() -> None:
    error = {"message": "The server had an error while processing your request.",
             "type": "server_error", "code": "overloaded"}
    with pytest.raises(StreamError, match="overloaded") as info:
        stream_response(_events(ScriptedReply(text="partial", stream_error=error)))
    assert info.value.retryable


def test_sse_error_event_raises() -> None:
    events = _events(ScriptedReply(text="partial"))
    bad = b"event: error\ndata: " + json.dumps({"message": "boom"}).encode() + b"\n\n"
    with pytest.raises(StreamError, match="boom"):
        stream_response(events[:2] + [bad] + events[2:])


def test_data_after_done_is_ignored() -> None:
    events = _events(ScriptedReply(text="ok")) + [b"data: {garbage\n\n"]
    assert stream_response(events)[1].raw_text == "ok"


def test_malformed_tool_arguments_are_kept_not_dropped() -> None:
    raw = [
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1",'
        b'"function":{"name":"f","arguments":"{\\"a\\": "}}]}}]}\n\n',
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
        b"data: [DONE]\n\n",
    ]
    _, response = stream_response(raw)
    (call,) = response.tool_calls
    assert call.parse_error and call.raw_arguments == '{"a": '


def test_deepseek_cache_hit_tokens() -> None:
    raw = [
        b'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}\n\n',
        b'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":1,'
        b'"total_tokens":11,"prompt_cache_hit_tokens":8,"prompt_cache_miss_tokens":2}}\n\n',
        b"data: [DONE]\n\n",
    ]
    _, response = stream_response(raw)
    assert response.cache_hit_tokens == 8 and response.total_tokens == 11


def test_http_error_status_on_stream_is_mapped() -> None:
    import asyncio

    from teragent_openai.adapter import OpenAICompatibleAdapter

    from .helpers import PROMPT, chunked_transport

    async def main() -> None:
        adapter = OpenAICompatibleAdapter(
            base_url="http://mock.test/v1", transport=chunked_transport(
                [b'{"error": {"message": "slow down"}}'], status=429,
                headers={"retry-after": "3"}))
        try:
            async for _ in adapter.stream_events(PROMPT, "m"):
                pass
        finally:
            await adapter.aclose()

    with pytest.raises(RateLimitError) as info:
        asyncio.run(main())
    assert info.value.retry_after == 3
    assert isinstance(info.value, ModelAPIError)
