"""``glm_native`` dialect details, and an oracle check with the official openai SDK."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from teragent.core.tap import CompiledPrompt, TAPRequest
from teragent_testing.contract import adapter_response
from teragent_testing.fake_glm import FakeGLMServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_glm.adapter import GLMNativeAdapter
from teragent_glm.compilers import GLM52Compiler


BASE = "http://fake.test/api/paas/v4"


def _adapter(server: FakeGLMServer) -> GLMNativeAdapter:
    return GLMNativeAdapter(base_url=BASE, api_key="k", transport=httpx.ASGITransport(app=server))


def _run(coro_factory: Any, server: FakeGLMServer) -> Any:
    async def main() -> Any:
        adapter = _adapter(server)
        try:
            return await coro_factory(adapter)
        finally:
            await adapter.aclose()
    return asyncio.run(main())


def test_glm52_compiled_prompt_sets_thinking_and_reads_reasoning() -> None:
    server = FakeGLMServer().script(ScriptedReply(text="done", reasoning="because",
                                                  usage={"prompt_tokens": 50,
                                                         "completion_tokens": 3,
                                                         "cached_tokens": 40}))
    compiled = GLM52Compiler().compile(TAPRequest(instruction="fix it", thinking_mode="max"))
    response = _run(lambda a: a.send(compiled, "glm-5.2"), server)
    body = server.requests[-1].body
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert response.thinking_content == "because"
    assert response.cache_hit_tokens == 40 and response.prompt_tokens == 50
    # compiler hints stay out of the request body
    assert "thinking_mode" not in body and "preserved_thinking" not in body


def test_quick_disables_thinking_and_strips_old_reasoning() -> None:
    server = FakeGLMServer()
    compiled = CompiledPrompt(messages=[
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b", "reasoning_content": "old trace"},
        {"role": "user", "content": "c"}], extra={"thinking_mode": "quick"})
    _run(lambda a: a.send(compiled, "glm-5"), server)
    body = server.requests[-1].body
    assert body["thinking"] == {"type": "disabled"}
    assert "reasoning_content" not in body["messages"][1]


def test_preserved_thinking_keeps_reasoning_in_history() -> None:
    server = FakeGLMServer()
    compiled = CompiledPrompt(messages=[
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b", "reasoning_content": "old trace"},
        {"role": "user", "content": "c"}],
        extra={"thinking_mode": "high", "preserved_thinking": True})
    _run(lambda a: a.send(compiled, "glm-5.2"), server)
    assert server.requests[-1].body["messages"][1]["reasoning_content"] == "old trace"


def test_stream_usage_without_stream_options() -> None:
    server = FakeGLMServer().script(ScriptedReply(text="hello", usage={
        "prompt_tokens": 9, "completion_tokens": 2}))

    async def scenario(adapter: GLMNativeAdapter) -> Any:
        last = None
        async for event in adapter.stream_events(CompiledPrompt(messages=[
                {"role": "user", "content": "x"}]), "glm-5"):
            last = event
        return last.response  # type: ignore[union-attr]

    response = _run(scenario, server)
    assert "stream_options" not in server.requests[-1].body
    assert (response.prompt_tokens, response.completion_tokens) == (9, 2)


def test_async_chat_round_trip() -> None:
    server = FakeGLMServer().script(ScriptedReply(text="async answer"))

    async def scenario(adapter: GLMNativeAdapter) -> Any:
        task = await adapter.submit_async(CompiledPrompt(messages=[
            {"role": "user", "content": "x"}]), "glm-5")
        first = await adapter.get_async_result(task, "glm-5")
        second = await adapter.get_async_result(task, "glm-5")
        return task, first, second

    task, first, second = _run(scenario, server)
    assert task.startswith("glm-task-") and first is None
    assert second.raw_text == "async answer"


def test_malformed_thinking_is_refused_like_zhipu() -> None:
    server = FakeGLMServer()
    compiled = CompiledPrompt(messages=[{"role": "user", "content": "x"}],
                              extra={"thinking": {"type": "sometimes"}})
    with pytest.raises(Exception) as info:
        _run(lambda a: a.send(compiled, "glm-5"), server)
    assert getattr(info.value, "status", None) == 400 and "thinking" in str(info.value)


def test_vision_and_long_context_get_multimodal_timeout() -> None:
    adapter = GLMNativeAdapter(timeout=5, multimodal_timeout=77)
    assert adapter.request_timeout(CompiledPrompt(messages=[], extra={
        "vision_coordination": True})) == 77
    assert adapter.request_timeout(CompiledPrompt(messages=[], extra={
        "context_window": 1_000_000})) == 77
    assert adapter.request_timeout(CompiledPrompt(messages=[{"role": "user",
                                                             "content": "x"}])) is None
    assert adapter.capabilities["thinking_modes"] == ["high", "max"]


openai = pytest.importorskip("openai")


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_openai_sdk_reads_the_same(loopback: tuple[FakeGLMServer, str], stream: bool) -> None:
    server, base_url = loopback
    reply = ScriptedReply(text="GLM 回答 ✓", reasoning="先想一想",
                          tool_calls=[("grep", {"pattern": "x"}, "call_g")], chunk_size=3,
                          usage={"prompt_tokens": 30, "completion_tokens": 7,
                                 "cached_tokens": 20})
    server.script(reply)
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    try:
        if stream:
            text, args, usage = "", "", None
            for chunk in client.chat.completions.create(
                    model="glm-5", messages=messages, stream=True):  # type: ignore[arg-type]
                usage = chunk.usage or usage
                for c in chunk.choices:
                    text += c.delta.content or ""
                    for tc in c.delta.tool_calls or []:
                        args += tc.function.arguments or ""  # type: ignore[union-attr]
            sdk = (text, json.loads(args), usage.prompt_tokens,  # type: ignore[union-attr]
                   usage.prompt_tokens_details.cached_tokens)  # type: ignore[union-attr]
        else:
            r = client.chat.completions.create(model="glm-5", messages=messages)  # type: ignore[arg-type]
            sdk = (r.choices[0].message.content,
                   json.loads(r.choices[0].message.tool_calls[0].function.arguments),  # type: ignore[index,union-attr]
                   r.usage.prompt_tokens, r.usage.prompt_tokens_details.cached_tokens)  # type: ignore[union-attr]
    finally:
        client.close()
    server.script(reply)

    r = adapter_response(lambda: GLMNativeAdapter(base_url=base_url, transport="httpx"),
                         CompiledPrompt(messages=messages), "glm-5", stream=stream)
    assert sdk == (r.raw_text, r.tool_calls[0].arguments, r.prompt_tokens, r.cache_hit_tokens)
    assert r.thinking_content == "先想一想"
