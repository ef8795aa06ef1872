"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake MiniMax server (OpenAI and Anthropic interfaces), streaming on and off, thinking on. The fake enforces MiniMax's documented rule that the whole assistant message of a tool
call comes back, reasoning included (``reasoning_details`` with ``reasoning_split``)."""

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


from teragent.testing.fake_minimax import FakeMiniMaxServer  # noqa: E402


def _provider(server: FakeMiniMaxServer, interface: str) -> Any:
    return teragent.create_provider(
        compiler="minimax_m3", adapter="minimax_native", model="MiniMax-M3",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server),
        adapter_options={"interface": interface})


@pytest.mark.parametrize("interface", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns_thinking_on(stream: bool, interface: str) -> None:
    server = FakeMiniMaxServer()
    script(server)
    result = run_agent(_provider(server, interface), stream)
    check_result(result)
    assert server.rejected == []
    assert result.messages[-1].get("reasoning_content") == "All done."
    third = server.requests[2].body
    turns = [m for m in third["messages"] if m["role"] == "assistant"]
    if interface == "openai":
        assert third["reasoning_split"] is True
        assert [t["reasoning_details"][0]["text"] for t in turns] == [
            "I should add 2 and 3 first.", "Now both remaining sums, in parallel."]
        assert all("reasoning_content" not in t for t in turns)
    else:
        assert [t["content"][0]["type"] for t in turns] == ["thinking", "thinking"]


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_think_tags_never_reach_raw_text_without_reasoning_split(stream: bool) -> None:
    """reasoning_split=False: M3 answers with <think> in content; the adapter splits
    it off and sends it back as the <think> block MiniMax then expects."""
    server = FakeMiniMaxServer()
    script(server)
    provider = teragent.create_provider(
        compiler="minimax_m3", adapter="minimax_native", model="MiniMax-M3",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server),
        adapter_options={"reasoning_split": False})
    result = run_agent(provider, stream)
    check_result(result)
    assert server.rejected == []
    third = server.requests[2].body
    assert "reasoning_split" in third and third["reasoning_split"] is False
    turns = [m for m in third["messages"] if m["role"] == "assistant"]
    assert [t["content"].split("</think>")[0] for t in turns] == [
        "<think>\nI should add 2 and 3 first.\n", "<think>\nNow both remaining sums, in parallel.\n"]
