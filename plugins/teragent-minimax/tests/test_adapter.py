"""``minimax_native``: rate limits, billing, desktop endpoint and fallback, video hints,
both interfaces, and SDK oracles (``openai`` and ``anthropic``) on the same fake server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from teragent.core.tap import CompiledPrompt, MultimodalContent, TAPRequest
from teragent.errors import RateLimitError, UserError
from teragent_testing.contract import adapter_response
from teragent_testing.fake_minimax import FakeMiniMaxServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_minimax.adapter import MiniMaxNativeAdapter, MiniMaxRateLimitInfo
from teragent_minimax.compiler import MiniMaxM3Compiler

PROMPT = CompiledPrompt(messages=[{"role": "user", "content": "hi"}])


def run(server: FakeMiniMaxServer, scenario: Any, **options: Any) -> Any:
    async def main() -> Any:
        adapter = MiniMaxNativeAdapter(base_url="http://fake.test/v1", api_key="k",
                                       transport=httpx.ASGITransport(app=server), **options)
        try:
            return await scenario(adapter)
        finally:
            await adapter.aclose()
    return asyncio.run(main())


def test_rate_limit_headers_tracked_and_exhaustion_raises() -> None:
    server = FakeMiniMaxServer(rate_limit=2, window_seconds=120)

    async def scenario(a: MiniMaxNativeAdapter) -> Any:
        await a.send(PROMPT, "m3")
        first = (a.rate_limit_info.limit, a.rate_limit_info.remaining)
        await a.send(PROMPT, "m3")
        second = (a.rate_limit_info.remaining, a.rate_limit_info.is_exhausted)
        with pytest.raises(RateLimitError) as info:
            await a.send(PROMPT, "m3")
        return first, second, info.value, a.rate_limit_info

    first, second, error, info = run(server, scenario)
    assert first == (2, 1)
    assert second[0] == 0 and second[1] is True
    assert error.retry_after is not None and error.retry_after > 0
    assert info.is_exhausted and 0 < info.reset_in_seconds <= 120


def test_rate_limit_info_parsing() -> None:
    # The header values themselves are parsed by the kernel (core/tests/
    # test_http_headers_and_retry.py); this is what the adapter keeps of them.
    info = MiniMaxRateLimitInfo()
    assert not info.is_exhausted and info.reset_in_seconds == 0
    assert info.update({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "3",
                        "x-ratelimit-reset": "30"})
    assert (info.limit, info.remaining) == (10, 3) and 29 < info.reset_in_seconds <= 30
    assert info.update({"Retry-After": "60"}, 429)
    assert info.is_exhausted and 59 < info.reset_in_seconds <= 60
    assert not info.update({})


def test_billing_summary_accumulates_both_interfaces() -> None:
    server = FakeMiniMaxServer()
    usage = {"prompt_tokens": 100, "completion_tokens": 10, "cached_tokens": 60}
    server.script(ScriptedReply(text="a", usage=usage), ScriptedReply(text="b", usage=usage),
                  ScriptedReply(text="c", usage=usage))

    async def scenario(a: MiniMaxNativeAdapter) -> dict[str, int]:
        await a.send(PROMPT, "m3")
        async for _ in a.stream_events(PROMPT, "m3"):
            pass
        anthropic = CompiledPrompt(messages=PROMPT.messages,
                                   extra={"minimax_interface": "anthropic"})
        await a.send(anthropic, "m3")
        return a.billing_summary

    summary = run(server, scenario)
    assert summary == {"input_tokens": 300, "output_tokens": 30, "cache_tokens": 180,
                       "total_tokens": 330, "request_count": 3}
    assert [r.path for r in server.requests] == [
        "/v1/chat/completions", "/v1/chat/completions", "/anthropic/v1/messages"]


def test_desktop_command_uses_the_dedicated_endpoint() -> None:
    server = FakeMiniMaxServer().script_desktop(
        {"action": {"name": "click", "params": {"x": 10, "y": 20}}, "reasoning": "the OK button"})
    result = run(server, lambda a: a.send_desktop_command(
        "press OK", screenshot="data:image/png;base64,iVBORw0KGgo=",
        active_window="Dialog", interactive_elements=[{"id": 1, "label": "OK"}]),
        group_id="g-1")
    assert result["action"] == {"name": "click", "params": {"x": 10, "y": 20}}
    assert result["reasoning"] == "the OK button" and "fallback" not in result
    request = server.requests[-1]
    assert request.path == "/v1/desktop/command"
    assert request.body["command"] == "press OK" and request.body["active_window"] == "Dialog"


def test_desktop_command_falls_back_to_chat_on_404() -> None:
    server = FakeMiniMaxServer(desktop=False)
    server.script(ScriptedReply(text='Sure. {"action": "type_text", "params": {"text": "hi"},'
                                     ' "reasoning": "the field is focused"}'))
    result = run(server, lambda a: a.send_desktop_command(
        "type hi", screenshot="data:image/png;base64,iVBORw0KGgo=", active_window="Editor"))
    assert result["fallback"] is True
    assert result["action"] == {"name": "type_text", "params": {"text": "hi"}}
    assert result["reasoning"] == "the field is focused"
    desktop, chat = server.requests
    assert desktop.path.endswith("/desktop/command") and chat.path.endswith("/chat/completions")
    user = chat.body["messages"][-1]["content"]
    assert user[0]["type"] == "image_url"
    assert "type_text" in user[-1]["text"] and "Active window: Editor" in user[-1]["text"]


def test_video_hints_reach_the_request() -> None:
    server = FakeMiniMaxServer()
    compiled = MiniMaxM3Compiler(frame_sampling="keyframe").compile(TAPRequest(
        instruction="what happens?", multimodal_context=[
            MultimodalContent(type="video_url", url="https://example.test/v.mp4")]))
    run(server, lambda a: a.send(compiled, "m3"))
    body = server.requests[-1].body
    assert body["video_mode"] == "understand" and body["frame_sampling"] == "keyframe"
    assert body["messages"][-1]["content"][0] == {
        "type": "video_url", "video_url": {"url": "https://example.test/v.mp4"}}


def test_options_are_checked() -> None:
    with pytest.raises(UserError, match="interface"):
        MiniMaxNativeAdapter(interface="grpc")
    with pytest.raises(UserError, match="enable_fake_tools"):
        MiniMaxNativeAdapter(enable_fake_tools=True)
    caps = MiniMaxNativeAdapter().capabilities
    assert caps["multimodal"] and caps["desktop"] and caps["video"] and caps["msa_efficient"]
    assert caps["max_context_tokens"] == 1_000_000
    assert MiniMaxNativeAdapter(base_url="https://api.minimaxi.com/v1").anthropic_base_url == \
        "https://api.minimaxi.com/anthropic/v1"


# --- oracles: the vendors' SDKs read the same bytes ------------------------------------

REPLY = ScriptedReply(text="M3 答复 ✓", tool_calls=[("click", {"x": 1, "y": 2}, "call_m")],
                      chunk_size=3, usage={"prompt_tokens": 21, "completion_tokens": 6,
                                           "cached_tokens": 11})


def _ours(base_url: str, interface: str, stream: bool, *, thinking: bool = False) -> Any:
    r = adapter_response(lambda: MiniMaxNativeAdapter(
        base_url=base_url, transport="httpx", interface=interface), PROMPT, "minimax-m3",
        stream=stream)
    out = (r.raw_text, [(c.id, c.name, c.arguments) for c in r.tool_calls],
           r.completion_tokens, r.cache_hit_tokens)
    return (*out, r.thinking_content) if thinking else out


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_openai_sdk_oracle(loopback: tuple[FakeMiniMaxServer, str], stream: bool) -> None:
    openai = pytest.importorskip("openai")
    server, base_url = loopback
    server.script(REPLY, REPLY)
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    # As MiniMax's docs call it: reasoning_split puts the thinking in reasoning_details.
    split = {"reasoning_split": True}
    try:
        if stream:
            text, calls, usage, thinking = "", {}, None, ""
            for chunk in client.chat.completions.create(
                    model="minimax-m3", messages=PROMPT.messages, stream=True,
                    stream_options={"include_usage": True}, extra_body=split):
                usage = chunk.usage or usage
                for c in chunk.choices:
                    text += c.delta.content or ""
                    for detail in (c.delta.model_extra or {}).get("reasoning_details") or []:
                        thinking += detail["text"]
                    for tc in c.delta.tool_calls or []:
                        slot = calls.setdefault(tc.index, ["", "", ""])
                        slot[0] = tc.id or slot[0]
                        slot[1] = tc.function.name or slot[1]
                        slot[2] += tc.function.arguments or ""
            sdk = (text, [(i, n, json.loads(a)) for i, n, a in calls.values()],
                   usage.completion_tokens, usage.prompt_tokens_details.cached_tokens,
                   thinking)
        else:
            r = client.chat.completions.create(model="minimax-m3", messages=PROMPT.messages,
                                               extra_body=split)
            m = r.choices[0].message
            sdk = (m.content, [(c.id, c.function.name, json.loads(c.function.arguments))
                               for c in m.tool_calls or []],
                   r.usage.completion_tokens, r.usage.prompt_tokens_details.cached_tokens,
                   m.model_extra["reasoning_details"][0]["text"])
    finally:
        client.close()
    assert sdk == _ours(base_url, "openai", stream, thinking=True)
    assert "<think>" not in sdk[0]


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_anthropic_sdk_oracle(loopback: tuple[FakeMiniMaxServer, str], stream: bool) -> None:
    anthropic = pytest.importorskip("anthropic")
    server, base_url = loopback
    server.script(REPLY, REPLY)
    root = base_url.removesuffix("/v1") + "/anthropic"
    client = anthropic.Anthropic(base_url=root, api_key="k", max_retries=0)
    kwargs: dict[str, Any] = {"model": "minimax-m3", "max_tokens": 64,
                              "messages": PROMPT.messages}
    try:
        if stream:
            with client.messages.stream(**kwargs) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**kwargs)
    finally:
        client.close()
    sdk = ("".join(b.text for b in message.content if b.type == "text"),
           [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"],
           message.usage.output_tokens, message.usage.cache_read_input_tokens)
    assert sdk == _ours(base_url, "anthropic", stream)
