"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake DeepSeek server, streaming on and off, thinking on. The fake enforces DeepSeek's documented thinking-mode rule: a tool-calling turn's
``reasoning_content`` must come back in every later request, or the API answers 400."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import teragent
from teragent_testing.agent_harness import add, check_result, run_agent, script_two_tool_turns
from teragent_testing.fake_openai import ScriptedReply
from teragent.errors import ModelAPIError
from teragent_testing.fake_deepseek import REASONING_REQUIRED, FakeDeepSeekServer


def _provider(server: FakeDeepSeekServer, compiler: str = "deepseek_v4") -> Any:
    return teragent.create_provider(
        compiler=compiler, adapter="openai_compatible", model="deepseek-v4-pro",
        base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server),
        compiler_options={"variant": "pro"})


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns_thinking_on(stream: bool) -> None:
    server = FakeDeepSeekServer()
    script_two_tool_turns(server)
    result = run_agent(_provider(server), stream)
    check_result(result)
    assert server.rejected == [] and server.unconsumed == 0
    # every follow-up request carried the reasoning of each earlier tool-calling turn
    second, third = server.requests[1].body, server.requests[2].body
    tool_turns = [m for m in third["messages"] if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in tool_turns] == [
        "I should add 2 and 3 first.", "Now both remaining sums, in parallel."]
    assert [m.get("reasoning_content") for m in second["messages"]
            if m["role"] == "assistant"] == ["I should add 2 and 3 first."]
    assert result.messages[-1].get("reasoning_content") == "All done."


def test_the_fake_refuses_a_tool_loop_without_reasoning_content() -> None:
    """The rule the agent test relies on: dropping the reasoning is a 400."""
    server = FakeDeepSeekServer()
    script_two_tool_turns(server)

    async def main() -> Any:
        async with _provider(server) as provider:
            messages: list[dict[str, Any]] = [{"role": "user", "content": "add"}]
            first = await provider.complete(messages, [add.schema()])
            message = first.to_message()
            message.pop("reasoning_content")
            messages += [message, {"role": "tool", "tool_call_id": "call_one",
                                   "content": "5"}]
            await provider.complete(messages, [add.schema()])

    with pytest.raises(ModelAPIError) as info:
        asyncio.run(main())
    assert info.value.status == 400 and REASONING_REQUIRED in str(info.value)
    assert info.value.retryable is False


def test_thinking_disabled_needs_no_reasoning_back() -> None:
    server = FakeDeepSeekServer()
    server.script(ScriptedReply(reasoning="ignored", text="hi"))

    async def main() -> Any:
        async with _provider(server) as provider:
            return await provider.complete([{"role": "user", "content": "hi"}],
                                           thinking={"type": "disabled"})

    response = asyncio.run(main())
    assert response.raw_text == "hi" and response.thinking_content is None
