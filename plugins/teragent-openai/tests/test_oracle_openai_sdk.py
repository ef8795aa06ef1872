"""Oracle: the official openai SDK and our adapter read the same scripted replies alike.

Both talk to the fake server on a real loopback port; the SDK is only a test
dependency (the adapter never imports it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from teragent.core.tap import CompiledPrompt
from teragent_testing.contract import adapter_response
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply
from teragent_openai.adapter import OpenAICompatibleAdapter

openai = pytest.importorskip("openai")

REPLIES = [
    ScriptedReply(text="Plain answer, streamed in small pieces.", chunk_size=4,
                  usage={"prompt_tokens": 12, "completion_tokens": 8}),
    ScriptedReply(text="Reading both.", tool_calls=[
        ("read_file", {"path": "a.py"}), ("grep", {"pattern": "def ", "path": "src/"})],
        usage={"prompt_tokens": 40, "completion_tokens": 22, "cached_tokens": 32}),
    ScriptedReply(tool_calls=[("run", {"cmd": "pytest -q", "env": {"CI": "1"}})],
                  chunk_size=3),
    ScriptedReply(text="unicode ✓ — 你好", chunk_size=2),
]
MESSAGES = [{"role": "user", "content": "hello oracle"}]
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in ("read_file", "grep", "run")]


def _sdk(base_url: str, reply: ScriptedReply, server: FakeOpenAIServer,
         stream: bool) -> dict[str, Any]:
    server.script(reply)
    client = openai.OpenAI(base_url=base_url, api_key="sk-oracle-test-key", max_retries=0)
    try:
        if not stream:
            r = client.chat.completions.create(model="fake-model", messages=MESSAGES,
                                               tools=TOOLS)
            msg = r.choices[0].message
            return {
                "text": msg.content or "",
                "calls": [(c.id, c.function.name, json.loads(c.function.arguments))
                          for c in msg.tool_calls or []],
                "usage": (r.usage.prompt_tokens, r.usage.completion_tokens,
                          r.usage.total_tokens),
                "finish": r.choices[0].finish_reason,
            }
        text: list[str] = []
        calls: dict[int, list[Any]] = {}
        usage = None
        finish = None
        for chunk in client.chat.completions.create(
                model="fake-model", messages=MESSAGES, tools=TOOLS, stream=True,
                stream_options={"include_usage": True}):
            if chunk.usage:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens,
                         chunk.usage.total_tokens)
            for choice in chunk.choices:
                if choice.delta.content:
                    text.append(choice.delta.content)
                for tc in choice.delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, [None, "", ""])
                    if tc.id:
                        slot[0] = tc.id
                    if tc.function and tc.function.name:
                        slot[1] = tc.function.name
                    if tc.function and tc.function.arguments:
                        slot[2] += tc.function.arguments
                finish = choice.finish_reason or finish
        return {"text": "".join(text),
                "calls": [(c[0], c[1], json.loads(c[2])) for _, c in sorted(calls.items())],
                "usage": usage, "finish": finish}
    finally:
        client.close()


def _ours(base_url: str, reply: ScriptedReply, server: FakeOpenAIServer, stream: bool,
          transport: str) -> dict[str, Any]:
    server.script(reply)

    r = adapter_response(lambda: OpenAICompatibleAdapter(
        base_url=base_url, api_key="sk-oracle-test-key", transport=transport),
        CompiledPrompt(messages=MESSAGES, tools=TOOLS), "fake-model", stream=stream)
    return {"text": r.raw_text, "calls": [(c.id, c.name, c.arguments) for c in r.tool_calls],
            "usage": (r.prompt_tokens, r.completion_tokens, r.total_tokens),
            "finish": r.finish_reason}


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("reply", REPLIES, ids=["text", "parallel-tools", "nested-args",
                                                 "unicode"])
def test_same_reading_as_openai_sdk(loopback: tuple[FakeOpenAIServer, str],
                                    reply: ScriptedReply, stream: bool,
                                    transport: str) -> None:
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    server, base_url = loopback
    expected = _sdk(base_url, reply, server, stream)
    got = _ours(base_url, reply, server, stream, transport)
    assert got == expected
    sdk_body, our_body = (r.body for r in server.requests[-2:])
    assert our_body["messages"] == sdk_body["messages"]
    assert our_body["tools"] == sdk_body["tools"]
    assert our_body.get("stream", False) == sdk_body.get("stream", False)
