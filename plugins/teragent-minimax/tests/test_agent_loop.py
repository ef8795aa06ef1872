"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake MiniMax server (OpenAI and Anthropic interfaces), streaming on and off, thinking on. The fake enforces MiniMax's documented rule that the whole assistant message of a tool
call comes back, reasoning included (``reasoning_details`` with ``reasoning_split``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import teragent
from teragent_testing.agent_harness import check_result, run_agent, script_two_tool_turns
from teragent_testing.fake_minimax import FakeMiniMaxServer


def _provider(server: FakeMiniMaxServer, interface: str) -> Any:
    return teragent.create_provider(
        compiler="minimax_m3", adapter="minimax_native", model="MiniMax-M3",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server),
        adapter_options={"interface": interface})


@pytest.mark.parametrize("interface", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns_thinking_on(stream: bool, interface: str) -> None:
    server = FakeMiniMaxServer()
    script_two_tool_turns(server)
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
    script_two_tool_turns(server)
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
