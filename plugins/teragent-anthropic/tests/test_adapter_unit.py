"""``anthropic_native`` request building and SSE handling, without a server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from teragent.core.tap import CompiledPrompt, TAPRequest
from teragent.core.types import ThinkingDelta, ToolCallReady, UsageUpdate
from teragent_anthropic.request import build_messages_body, convert_messages
from teragent_anthropic.stream import MessagesStreamAssembler
from teragent.errors import IncompatiblePromptError, StreamError
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_anthropic.adapter import AnthropicNativeAdapter
from teragent_anthropic.compiler import AnthropicCompiler

TOOLS = [{"type": "function", "function": {"name": "ls", "description": "List",
                                           "parameters": {"type": "object"}}}]


def test_mode_b_body_with_prompt_caching_markers() -> None:
    compiled = AnthropicCompiler().compile(TAPRequest(instruction="list files", tools=TOOLS))
    body = build_messages_body(compiled, "claude", stream=False)
    assert body["system"] == [{"type": "text", "text": compiled.system_prompt,
                               "cache_control": {"type": "ephemeral"}}]
    assert body["tools"] == [{"name": "ls", "description": "List",
                              "input_schema": {"type": "object"},
                              "cache_control": {"type": "ephemeral"}}]
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": compiled.user_message}]}]
    assert body["max_tokens"] == 4096


def test_extra_parameters() -> None:
    compiled = CompiledPrompt(messages=[{"role": "user", "content": "x"}], extra={
        "max_tokens": 99, "thinking_budget": 2048, "stop": "END", "temperature": 0.2,
        "tool_choice": "required", "variant": "ignored"})
    body = build_messages_body(compiled, "claude", stream=True)
    assert body["max_tokens"] == 99 and body["stream"] is True
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.2
    assert body["tool_choice"] == {"type": "any"} and "variant" not in body


def test_conversation_conversion_merges_turns() -> None:
    system, messages = convert_messages([
        {"role": "system", "content": "s1"}, {"role": "system", "content": "s2"},
        {"role": "user", "content": "a"}, {"role": "user", "content": [
            {"type": "text", "text": "b"},
            {"type": "image_url", "image_url": {"url": "https://example.test/i.png"}}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "out"},
        {"role": "user", "content": "next"}])
    assert system == "s1\n\ns2"
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"][2] == {"type": "image", "source": {
        "type": "url", "url": "https://example.test/i.png"}}
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "out"},
        {"type": "text", "text": "next"}]
    with pytest.raises(IncompatiblePromptError, match="video"):
        convert_messages([{"role": "user", "content": [
            {"type": "video_url", "video_url": {"url": "https://example.test/v.mp4"}}]}])


def _sse(*events: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["type"], json.dumps(e)) for e in events]


START = {"type": "message_start", "message": {"model": "claude", "usage": {
    "input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20,
    "output_tokens": 1}}}


def test_assembler_thinking_signature_usage_and_stop_mapping() -> None:
    asm = MessagesStreamAssembler()
    events: list[Any] = []
    for name, data in _sse(
            START, {"type": "ping"},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "thinking", "thinking": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "hmm"}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "signature_delta", "signature": "SIG"}},
            {"type": "content_block_stop", "index": 0},
            {"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": "t", "name": "ls", "input": {}}},
            {"type": "content_block_delta", "index": 1,
             "delta": {"type": "input_json_delta", "partial_json": '{"p": '}},
            {"type": "content_block_delta", "index": 1,
             "delta": {"type": "input_json_delta", "partial_json": '"."}'}},
            {"type": "content_block_stop", "index": 1},
            {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
             "usage": {"output_tokens": 7}},
            {"type": "message_stop"}):
        events += asm.feed_sse(name, data)
    events += asm.finish()
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["hmm"]
    ready = [e for e in events if isinstance(e, ToolCallReady)]
    assert len(ready) == 1 and ready[0].call.arguments == {"p": "."}
    usage = [e for e in events if isinstance(e, UsageUpdate)][-1]
    assert usage.usage["prompt_tokens"] == 125 and usage.usage["completion_tokens"] == 7
    assert usage.cache_hit_tokens == 100
    response = events[-1].response
    assert response.finish_reason == "length"
    assert response.thinking_blocks == [{"type": "thinking", "thinking": "hmm",
                                         "signature": "SIG"}]
    assert response.usage["cache_creation_input_tokens"] == 20


@pytest.mark.parametrize("stop, finish", [("end_turn", "stop"), ("tool_use", "tool_calls"),
                                          ("max_tokens", "length"),
                                          ("stop_sequence", "stop")])
def test_stop_reason_mapping(stop: str, finish: str) -> None:
    asm = MessagesStreamAssembler()
    for name, data in _sse(START, {"type": "message_delta", "delta": {"stop_reason": stop}},
                           {"type": "message_stop"}):
        asm.feed_sse(name, data)
    assert asm.finish()[-1].response.finish_reason == finish


def test_error_event_and_truncated_stream_raise() -> None:
    asm = MessagesStreamAssembler()
    asm.feed_sse("message_start", json.dumps(START))
    with pytest.raises(StreamError, match="overloaded_error"):
        asm.feed_sse("error", json.dumps({"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}))
    asm2 = MessagesStreamAssembler()
    asm2.feed_sse("message_start", json.dumps(START))
    with pytest.raises(StreamError, match="message_stop"):
        asm2.finish()


def test_stream_error_from_the_fake_server() -> None:
    server = FakeAnthropicServer().script(ScriptedReply(text="partial", stream_error={
        "type": "overloaded_error", "message": "Overloaded"}))

    async def main() -> None:
        adapter = AnthropicNativeAdapter(base_url="http://fake.test/v1",
                                         transport=httpx.ASGITransport(app=server))
        try:
            async for _ in adapter.stream_events(
                    CompiledPrompt(messages=[{"role": "user", "content": "x"}]), "c"):
                pass
        finally:
            await adapter.aclose()

    with pytest.raises(StreamError) as info:
        asyncio.run(main())
    assert info.value.retryable


def test_capabilities() -> None:
    caps = AnthropicNativeAdapter().capabilities
    assert caps["prompt_caching"] and caps["multimodal"] and not caps["video"]
    assert AnthropicNativeAdapter.required_mode == "any"
