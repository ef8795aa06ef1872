"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake OpenAI server, streaming on and off, thinking on. The fake enforces nothing about reasoning (OpenAI's chat API returns none); the run
checks text, parallel tool calls and usage."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.testing.fake_openai import ScriptedReply
from teragent.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def script(server: Any) -> None:
    server.script(
        ScriptedReply(reasoning="I should add 2 and 3 first.",
                      tool_calls=[("add", {"a": 2, "b": 3}, "call_one")]),
        ScriptedReply(reasoning="Now both remaining sums, in parallel.",
                      tool_calls=[("add", {"a": 5, "b": 7}, "call_two"),
                                  ("add", {"a": 1, "b": 1}, "call_three")]),
        ScriptedReply(text="The sums are 5, 12 and 2.", reasoning="All done."),
    )


def run_agent(provider: Any, stream: bool) -> Any:
    async def main() -> Any:
        async with provider:
            loop = AgentLoop(provider, ToolRegistry([add]), AgentLoopConfig(stream=stream))
            return await loop.run("Add 2+3, then 5+7 and 1+1.")
    return asyncio.run(main())


def check_result(result: Any) -> None:
    assert result.stop_reason == "completed", result.as_dict()
    assert result.final_text == "The sums are 5, 12 and 2."
    assert [o.result.to_text() for o in result.tool_outcomes] == ["5", "12", "2"]
    assert all(o.success for o in result.tool_outcomes)
    assert result.model_calls == 3
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
    assistants = [m for m in result.messages if m["role"] == "assistant"]
    assert all("<think>" not in (m.get("content") or "") for m in assistants)


from teragent.testing.fake_openai import FakeOpenAIServer  # noqa: E402


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns(stream: bool) -> None:
    server = FakeOpenAIServer(strict=True)
    script(server)
    provider = teragent.create_provider(
        compiler="default", adapter="openai_compatible", model="gpt-test",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server))
    result = run_agent(provider, stream)
    check_result(result)
    assert server.unconsumed == 0
    third = server.requests[2].body
    calls = [m["tool_calls"] for m in third["messages"] if m["role"] == "assistant"]
    assert [len(c) for c in calls] == [1, 2]
