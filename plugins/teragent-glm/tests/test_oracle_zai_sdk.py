"""The fake GLM server checked against Zhipu's official SDK (``zai-sdk``): what the
SDK sends (``thinking``, ``reasoning_effort``, ``clear_thinking``) the fake accepts,
and what the fake answers (``reasoning_content``, tool calls, cached tokens, Zhipu's
error shape) the SDK reads the way ``glm_native`` does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teragent.core.tap import CompiledPrompt
from teragent_testing.contract import adapter_response
from teragent_testing.fake_glm import FakeGLMServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_glm.adapter import GLMNativeAdapter

zai = pytest.importorskip("zai", reason="pip install zai-sdk (requirements-dev.txt)")

MESSAGES = [{"role": "user", "content": "read a.py"}]
REPLY = ScriptedReply(text="Reading.", reasoning="need the file first",
                      tool_calls=[("read_file", {"path": "a.py"}, "call_a")],
                      usage={"prompt_tokens": 30, "completion_tokens": 6,
                             "cached_tokens": 20})


def _ours(base_url: str, stream: bool) -> tuple[Any, ...]:
    r = adapter_response(
        lambda: GLMNativeAdapter(base_url=base_url, api_key="a.b", transport="httpx"),
        CompiledPrompt(messages=MESSAGES, extra={"thinking_mode": "max"}), "glm-5.2",
        stream=stream)
    return (r.raw_text, r.thinking_content,
            [(c.id, c.name, c.arguments) for c in r.tool_calls],
            r.completion_tokens, r.cache_hit_tokens)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_zai_sdk_reads_the_fake_as_glm_native_does(
        loopback: tuple[FakeGLMServer, str], stream: bool) -> None:
    server, base_url = loopback
    server.script(REPLY, REPLY)
    client = zai.ZhipuAiClient(api_key="a.b", base_url=base_url, max_retries=0)
    kwargs: dict[str, Any] = {"model": "glm-5.2", "messages": MESSAGES,
                              "thinking": {"type": "enabled"}, "reasoning_effort": "max"}
    if stream:
        text, thinking, calls, usage = "", "", {}, None
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            usage = chunk.usage or usage
            for c in chunk.choices:
                text += c.delta.content or ""
                thinking += getattr(c.delta, "reasoning_content", None) or ""
                for tc in c.delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, ["", "", ""])
                    slot[0] = tc.id or slot[0]
                    slot[1] = (tc.function.name if tc.function else None) or slot[1]
                    slot[2] += (tc.function.arguments if tc.function else None) or ""
        sdk = (text, thinking, [(i, n, json.loads(a)) for i, n, a in calls.values()],
               usage.completion_tokens, usage.prompt_tokens_details.cached_tokens)
    else:
        r = client.chat.completions.create(**kwargs)
        m = r.choices[0].message
        sdk = (m.content, m.reasoning_content,
               [(c.id, c.function.name, json.loads(c.function.arguments))
                for c in m.tool_calls or []],
               r.usage.completion_tokens, r.usage.prompt_tokens_details.cached_tokens)
    sent = server.requests[0].body
    assert sent["thinking"] == {"type": "enabled"} and sent["reasoning_effort"] == "max"
    assert sdk == _ours(base_url, stream)
    # glm_native sends what the SDK sends for Max
    ours = server.requests[-1].body
    assert ours["reasoning_effort"] == "max" and ours["thinking"]["type"] == "enabled"


def test_zai_sdk_tool_loop_with_preserved_thinking(loopback: tuple[FakeGLMServer, str]) -> None:
    """The SDK's own round trip (reasoning_content sent back, clear_thinking false) is
    what the fake accepts; dropping it is what the fake refuses."""
    server, base_url = loopback
    server.script(REPLY, ScriptedReply(text="done"), REPLY)
    client = zai.ZhipuAiClient(api_key="a.b", base_url=base_url, max_retries=0)
    thinking = {"type": "enabled", "clear_thinking": False}
    first = client.chat.completions.create(model="glm-5.2", messages=MESSAGES,
                                           thinking=thinking).choices[0].message
    turn = {"role": "assistant", "content": first.content,
            "reasoning_content": first.reasoning_content,
            "tool_calls": [c.model_dump() for c in first.tool_calls]}
    result = {"role": "tool", "tool_call_id": "call_a", "content": "print(1)"}
    second = client.chat.completions.create(model="glm-5.2", thinking=thinking,
                                            messages=[*MESSAGES, turn, result])
    assert second.choices[0].message.content == "done"
    bad = {k: v for k, v in turn.items() if k != "reasoning_content"}
    with pytest.raises(zai.core.APIRequestFailedError):
        client.chat.completions.create(model="glm-5.2", thinking=thinking,
                                       messages=[*MESSAGES, bad, result])


def test_zai_sdk_sees_the_fake_business_errors(loopback: tuple[FakeGLMServer, str]) -> None:
    server, base_url = loopback
    server.script(ScriptedReply(status=400, error_body={"error": {
        "code": "1261", "message": "Prompt exceeds max length"}}))
    client = zai.ZhipuAiClient(api_key="a.b", base_url=base_url, max_retries=0)
    with pytest.raises(zai.core.APIRequestFailedError) as info:
        client.chat.completions.create(model="glm-5.2", messages=MESSAGES)
    assert "1261" in str(info.value)
