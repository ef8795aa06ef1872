"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake OpenAI server, streaming on and off, thinking on. The fake enforces nothing about reasoning (OpenAI's chat API returns none); the run
checks text, parallel tool calls and usage."""

from __future__ import annotations

import httpx
import pytest

import teragent
from teragent_testing.agent_harness import check_result, run_agent, script_two_tool_turns
from teragent_testing.fake_openai import FakeOpenAIServer


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns(stream: bool) -> None:
    server = FakeOpenAIServer(strict=True)
    script_two_tool_turns(server)
    provider = teragent.create_provider(
        compiler="default", adapter="openai_compatible", model="gpt-test",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server))
    result = run_agent(provider, stream)
    check_result(result)
    assert server.unconsumed == 0
    third = server.requests[2].body
    calls = [m["tool_calls"] for m in third["messages"] if m["role"] == "assistant"]
    assert [len(c) for c in calls] == [1, 2]
