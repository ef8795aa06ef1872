"""Oracle: the official ``anthropic`` SDK and our adapter read the same bytes alike.

Both talk to the fake server on a real loopback port, streaming and not; text, tool
calls (id, name, input), thinking, stop reason and usage must agree. The SDK is a test
dependency only.
"""

from __future__ import annotations

from typing import Any

import pytest

from teragent.core.tap import CompiledPrompt
from teragent_anthropic.response import STOP_REASONS
from teragent_testing.contract import adapter_response
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.fake_openai import ScriptedReply
from teragent_anthropic.adapter import AnthropicNativeAdapter

anthropic = pytest.importorskip("anthropic")

REPLIES = [
    ScriptedReply(text="Plain answer, streamed in small pieces.", chunk_size=4,
                  usage={"prompt_tokens": 12, "completion_tokens": 8}),
    ScriptedReply(text="Reading both.", tool_calls=[
        ("read_file", {"path": "a.py"}, "toolu_01"),
        ("grep", {"pattern": "def ", "path": "src/"}, "toolu_02")],
        usage={"prompt_tokens": 40, "completion_tokens": 22, "cached_tokens": 32}),
    ScriptedReply(tool_calls=[("run", {"cmd": "pytest -q", "env": {"CI": "1"}})],
                  chunk_size=3, usage={"prompt_tokens": 9, "completion_tokens": 10}),
    ScriptedReply(text="unicode ✓ — 你好", reasoning="let me think… 思考", chunk_size=2,
                  usage={"prompt_tokens": 5, "completion_tokens": 6, "cached_tokens": 1}),
]
TOOLS = [{"name": n, "input_schema": {"type": "object"}} for n in ("read_file", "grep", "run")]


def _sdk(root: str, server: FakeAnthropicServer, reply: ScriptedReply,
         stream: bool) -> dict[str, Any]:
    server.script(reply)
    client = anthropic.Anthropic(base_url=root, api_key="sk-ant-oracle", max_retries=0)
    kwargs: dict[str, Any] = {"model": "claude-test", "max_tokens": 256, "tools": TOOLS,
                              "messages": [{"role": "user", "content": "hello oracle"}]}
    try:
        if stream:
            with client.messages.stream(**kwargs) as s:
                streamed_text = "".join(s.text_stream)
                message = s.get_final_message()
            assert streamed_text == "".join(b.text for b in message.content
                                            if b.type == "text")
        else:
            message = client.messages.create(**kwargs)
    finally:
        client.close()
    return {
        "text": "".join(b.text for b in message.content if b.type == "text"),
        "thinking": "".join(b.thinking for b in message.content if b.type == "thinking")
                    or None,
        "calls": [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"],
        "usage": (message.usage.input_tokens, message.usage.output_tokens,
                  message.usage.cache_read_input_tokens or 0),
        "finish": STOP_REASONS[message.stop_reason],
    }


def _ours(base_url: str, server: FakeAnthropicServer, reply: ScriptedReply,
          stream: bool) -> dict[str, Any]:
    server.script(reply)
    prompt = CompiledPrompt(messages=[{"role": "user", "content": "hello oracle"}],
                            tools=TOOLS, extra={"max_tokens": 256})

    r = adapter_response(lambda: AnthropicNativeAdapter(
        base_url=base_url, api_key="sk-ant-oracle", transport="httpx"),
        prompt, "claude-test", stream=stream)
    return {
        "text": r.raw_text, "thinking": r.thinking_content,
        "calls": [(c.id, c.name, c.arguments) for c in r.tool_calls],
        "usage": (r.usage["input_tokens"], r.usage["output_tokens"], r.cache_hit_tokens or 0),
        "finish": r.finish_reason,
    }


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("index", range(len(REPLIES)))
def test_sdk_and_adapter_agree(loopback: tuple[FakeAnthropicServer, str], index: int,
                               stream: bool) -> None:
    server, base_url = loopback
    reply = REPLIES[index]
    sdk = _sdk(base_url.removesuffix("/v1"), server, reply, stream)
    ours = _ours(base_url, server, reply, stream)
    assert sdk == ours
    assert sdk["text"] == reply.text
    assert [c[1:] for c in sdk["calls"]] == [(n, a) for n, a, _ in reply.calls()]
    # the whole prompt = uncached input + cache reads
    if reply.usage:
        cached = reply.usage.get("cached_tokens", 0)
        assert sdk["usage"] == (reply.usage["prompt_tokens"] - cached,
                                reply.usage["completion_tokens"], cached)
