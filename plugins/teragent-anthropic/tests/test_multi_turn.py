"""A multi-turn tool conversation through ``anthropic_native`` against the fake server.

Turn 1 asks; the model answers with two ``tool_use`` blocks; turn 2 sends both
``tool_result`` blocks in one user turn; the model answers with text. The assertions
are on the request bodies the server received.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from teragent.core.tap import CompiledPrompt
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_anthropic.adapter import AnthropicNativeAdapter

TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]


def test_tool_use_then_tool_result_then_text() -> None:
    server = FakeAnthropicServer(strict=True)
    server.script(
        ScriptedReply(text="I'll read both.", tool_calls=[
            ("read_file", {"path": "a.txt"}, "toolu_a"),
            ("read_file", {"path": "b.txt"}, "toolu_b")]),
        ScriptedReply(text="a says A, b says B."))

    async def main() -> list[str]:
        adapter = AnthropicNativeAdapter(base_url="http://fake.test/v1", api_key="k",
                                         transport=httpx.ASGITransport(app=server))
        messages = [{"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "What do a.txt and b.txt say?"}]
        try:
            first = await adapter.send(CompiledPrompt(messages=messages, tools=TOOLS), "c")
            assert first.finish_reason == "tool_calls"
            messages.append(first.to_message())
            for call, content in zip(first.tool_calls, ["A", "B"]):
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
            final = None
            async for event in adapter.stream_events(
                    CompiledPrompt(messages=messages, tools=TOOLS), "c"):
                final = getattr(event, "response", final)
            assert final is not None and final.finish_reason == "stop"
            return [first.raw_text or "", final.raw_text or ""]
        finally:
            await adapter.aclose()

    texts = asyncio.run(main())
    assert texts == ["I'll read both.", "a says A, b says B."]
    first, second = (r.body for r in server.requests)
    assert first["system"] == "You are terse."
    assert first["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What do a.txt and b.txt say?"}]}]
    assert first["tools"] == [{"name": "read_file", "description": "Read a file",
                               "input_schema": TOOLS[0]["function"]["parameters"]}]
    assert "stream" not in first and second["stream"] is True
    assert second["messages"][1:] == [
        {"role": "assistant", "content": [
            {"type": "text", "text": "I'll read both."},
            {"type": "tool_use", "id": "toolu_a", "name": "read_file",
             "input": {"path": "a.txt"}},
            {"type": "tool_use", "id": "toolu_b", "name": "read_file",
             "input": {"path": "b.txt"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "A"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "B"}]},
    ]
    for request in server.requests:
        assert request.headers["x-api-key"] == "k"
        assert request.headers["anthropic-version"] == "2023-06-01"
    assert server.unconsumed == 0


def test_server_refuses_orphan_tool_result() -> None:
    """The fake server checks what the real API checks (so the test above means it)."""
    server = FakeAnthropicServer()
    messages = [{"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "toolu_missing", "content": "x"}]

    async def main() -> Exception:
        adapter = AnthropicNativeAdapter(base_url="http://fake.test/v1",
                                         transport=httpx.ASGITransport(app=server))
        try:
            await adapter.send(CompiledPrompt(messages=messages), "c")
        except Exception as exc:  # noqa: BLE001 - inspected below
            return exc
        finally:
            await adapter.aclose()
        raise AssertionError("expected a 400")

    exc = asyncio.run(main())
    assert getattr(exc, "status", None) == 400 and "tool_use_id" in str(exc)


def test_provider_composes_compiler_and_adapter() -> None:
    """create_provider(compiler="anthropic", adapter="anthropic_native") end to end."""
    from teragent.core.provider import create_provider
    from teragent.core.tap import TAPRequest

    server = FakeAnthropicServer().script(ScriptedReply(text="done", usage={
        "prompt_tokens": 40, "completion_tokens": 2, "cached_tokens": 30}))

    async def main() -> Any:
        provider = create_provider(compiler="anthropic", adapter="anthropic_native",
                                   model="claude-test", base_url="http://fake.test/v1",
                                   transport=httpx.ASGITransport(app=server))
        async with provider:
            return await provider.execute_tap(TAPRequest(
                meta={"intent": "review"}, instruction="Review a.py",
                constraints=["be brief"], tools=TOOLS))

    response = asyncio.run(main())
    assert response.raw_text == "done" and response.cache_hit_tokens == 30
    body = server.requests[-1].body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "<instructions>\nReview a.py\n</instructions>" in body["messages"][0]["content"][0]["text"]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}


def test_signed_thinking_is_sent_back_with_the_tool_use_turn() -> None:
    # With extended thinking, the follow-up turn must carry the thinking block (with its
    # signature) that preceded the tool_use; the kernel's conversation has no field for
    # it, so the adapter re-attaches it.
    server = FakeAnthropicServer(strict=True)
    server.script(
        ScriptedReply(reasoning="Need the file.", tool_calls=[
            ("read_file", {"path": "a.txt"}, "toolu_t")]),
        ScriptedReply(text="It says A."))

    async def main() -> None:
        adapter = AnthropicNativeAdapter(base_url="http://fake.test/v1", api_key="k",
                                         transport=httpx.ASGITransport(app=server))
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Read a.txt"}]
        try:
            first = None
            async for event in adapter.stream_events(
                    CompiledPrompt(messages=messages, tools=TOOLS), "c"):
                first = getattr(event, "response", first)
            assert first is not None and first.thinking_content == "Need the file."
            messages += [first.to_message(),
                         {"role": "tool", "tool_call_id": "toolu_t", "content": "A"}]
            await adapter.send(CompiledPrompt(messages=messages, tools=TOOLS), "c")
        finally:
            await adapter.aclose()

    asyncio.run(main())
    assistant = server.requests[1].body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "thinking", "thinking": "Need the file.",
                                       "signature": "fake-signature"}
    assert assistant["content"][-1]["type"] == "tool_use"
