"""Anthropic's error types map to the typed tree with the right ``retryable``;
``stop_reason: "refusal"`` surfaces as ``TAPResponse.refusal``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from teragent.core.tap import CompiledPrompt
from teragent.errors import (
    ContextOverflowError, ModelAPIError, QuotaExceededError, RateLimitError, StreamError,
)
from teragent_testing.contract import adapter_response
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_anthropic.adapter import AnthropicNativeAdapter

PROMPT = CompiledPrompt(system_prompt="s", user_message="hi")


def _call(server: FakeAnthropicServer, stream: bool, **kwargs: Any) -> Any:
    return adapter_response(lambda: AnthropicNativeAdapter(
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server), **kwargs),
        PROMPT, "claude-test", stream=stream)


def _error(status: int, kind: str, message: str) -> ScriptedReply:
    return ScriptedReply(status=status, error_body={"type": "error", "error": {
        "type": kind, "message": message}})


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("reply, cls, retryable", [
    (_error(529, "overloaded_error", "Overloaded"), ModelAPIError, True),
    (_error(402, "billing_error", "Your credit balance is too low"), QuotaExceededError, False),
    (_error(429, "rate_limit_error", "slow down"), RateLimitError, True),
    (_error(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"),
     ContextOverflowError, False),
], ids=["overloaded", "billing", "rate-limit", "context"])
def test_error_types(reply: ScriptedReply, cls: type, retryable: bool, stream: bool) -> None:
    with pytest.raises(ModelAPIError) as info:
        _call(FakeAnthropicServer().script(reply), stream)
    assert type(info.value) is cls and info.value.retryable is retryable


def test_overloaded_inside_a_stream_is_retryable() -> None:
    raw = [b'event: message_start\ndata: {"type":"message_start","message":{"id":"m",'
           b'"type":"message","role":"assistant","model":"c","content":[],"usage":'
           b'{"input_tokens":1,"output_tokens":0}}}\n\n',
           b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
           b'"message":"Overloaded"}}\n\n']
    with pytest.raises(StreamError) as info:
        _call(FakeAnthropicServer().script(ScriptedReply(raw_stream=raw)), True)
    assert info.value.retryable is True


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_refusal(stream: bool) -> None:
    server = FakeAnthropicServer().script(
        ScriptedReply(text="I can't help with that.", finish_reason="content_filter"))
    response = _call(server, stream)
    assert response.refusal == "I can't help with that."
    assert response.finish_reason == "content_filter"


def test_401_names_the_configured_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_CLAUDE_KEY", "sk-ant-team-secret-1234")
    with pytest.raises(ModelAPIError) as info:
        _call(FakeAnthropicServer().script(_error(401, "authentication_error", "bad key")),
              False, api_key="sk-ant-team-secret-1234")
    assert "TEAM_CLAUDE_KEY" in str(info.value)
    assert "ANTHROPIC_API_KEY" not in str(info.value)
    assert "team-secret" not in str(info.value)
