"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake Anthropic server, streaming on and off, thinking on. The fake enforces Anthropic's extended-thinking rule: the final assistant turn with
``tool_use`` must start with the signed thinking block it was answered with."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import teragent
from teragent_testing.agent_harness import add, check_result, run_agent, script_two_tool_turns
from teragent_testing.fake_anthropic import FakeAnthropicServer


def _provider(server: FakeAnthropicServer) -> Any:
    return teragent.create_provider(
        compiler="anthropic", adapter="anthropic_native", model="claude-test",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server),
        adapter_options={"thinking_budget": 2048})


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns_thinking_on(stream: bool) -> None:
    server = FakeAnthropicServer()
    script_two_tool_turns(server)
    result = run_agent(_provider(server), stream)
    check_result(result)
    assert server.unconsumed == 0
    third = server.requests[2].body
    assert third["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert third["max_tokens"] > 2048
    turns = [m for m in third["messages"] if m["role"] == "assistant"]
    assert [t["content"][0] for t in turns] == [
        {"type": "thinking", "thinking": "I should add 2 and 3 first.",
         "signature": "fake-signature"},
        {"type": "thinking", "thinking": "Now both remaining sums, in parallel.",
         "signature": "fake-signature"}]


def test_the_fake_refuses_a_tool_turn_without_its_thinking_block() -> None:
    from teragent.core.tap import CompiledPrompt
    from teragent.errors import ModelAPIError

    server = FakeAnthropicServer()
    script_two_tool_turns(server)

    async def main() -> None:
        async with _provider(server) as provider:
            adapter = provider.adapter
            first = await adapter.send(CompiledPrompt(messages=[
                {"role": "user", "content": "add"}], tools=[add.schema()]), "claude-test")
            message = first.to_message()
            message.pop("thinking_blocks")
            adapter._thinking.clear()  # nothing left to re-attach the blocks from
            await adapter.send(CompiledPrompt(messages=[
                {"role": "user", "content": "add"}, message,
                {"role": "tool", "tool_call_id": "call_one", "content": "5"}],
                tools=[add.schema()]), "claude-test")

    with pytest.raises(ModelAPIError) as info:
        asyncio.run(main())
    assert info.value.status == 400 and "thinking" in str(info.value)
