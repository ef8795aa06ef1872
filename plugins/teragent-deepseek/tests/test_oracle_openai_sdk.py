"""The fake DeepSeek server checked with the official ``openai`` SDK (DeepSeek's
documented client): reasoning_content and DeepSeek's cache-usage fields read as
``openai_compatible`` reads them, and the 400 for a dropped reasoning_content is the
SDK's ``BadRequestError``."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from teragent.core.tap import CompiledPrompt
from teragent_testing.fake_deepseek import REASONING_REQUIRED, FakeDeepSeekServer
from teragent_testing.fake_openai import ScriptedReply, serve_in_thread
from teragent_openai.adapter import OpenAICompatibleAdapter

openai = pytest.importorskip("openai")

MESSAGES = [{"role": "user", "content": "list files"}]
REPLY = ScriptedReply(reasoning="use the ls tool", tool_calls=[("ls", {"path": "."}, "c1")],
                      usage={"prompt_tokens": 40, "completion_tokens": 5, "cached_tokens": 32})


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[FakeDeepSeekServer, str]]:
    server = FakeDeepSeekServer()
    with serve_in_thread(server) as base_url:
        yield server, base_url


def _ours(base_url: str) -> Any:
    async def main() -> Any:
        adapter = OpenAICompatibleAdapter(base_url=base_url, transport="httpx")
        try:
            return await adapter.send(CompiledPrompt(messages=MESSAGES), "deepseek-v4-pro")
        finally:
            await adapter.aclose()
    return asyncio.run(main())


def test_sdk_reads_reasoning_and_cache_usage(loopback: tuple[FakeDeepSeekServer, str]) -> None:
    server, base_url = loopback
    server.reset()
    server.script(REPLY, REPLY)
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    try:
        r = client.chat.completions.create(model="deepseek-v4-pro", messages=MESSAGES,
                                           reasoning_effort="high",
                                           extra_body={"thinking": {"type": "enabled"}})
    finally:
        client.close()
    message, usage = r.choices[0].message, r.usage
    ours = _ours(base_url)
    assert message.model_extra["reasoning_content"] == ours.thinking_content
    assert usage.model_extra["prompt_cache_hit_tokens"] == 32 == ours.cache_hit_tokens
    assert usage.model_extra["prompt_cache_miss_tokens"] == 8
    assert [c.id for c in message.tool_calls] == [c.id for c in ours.tool_calls]


def test_sdk_round_trip_and_the_400(loopback: tuple[FakeDeepSeekServer, str]) -> None:
    server, base_url = loopback
    server.reset()
    server.script(REPLY, ScriptedReply(text="done"))
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    try:
        first = client.chat.completions.create(model="deepseek-v4-pro", messages=MESSAGES)
        turn = first.choices[0].message.model_dump(exclude_none=True)
        result = {"role": "tool", "tool_call_id": "c1", "content": "a.py"}
        done = client.chat.completions.create(model="deepseek-v4-pro",
                                              messages=[*MESSAGES, turn, result])
        assert done.choices[0].message.content == "done"
        turn.pop("reasoning_content")
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(model="deepseek-v4-pro",
                                           messages=[*MESSAGES, turn, result])
    finally:
        client.close()
    assert REASONING_REQUIRED in str(info.value)
