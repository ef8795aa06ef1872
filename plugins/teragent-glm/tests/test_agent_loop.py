"""An ``AgentLoop`` run with two tool turns (the second with parallel calls) against
the fake GLM server, streaming on and off, thinking on. The fake enforces Zhipu's interleaved-thinking rule (the reasoning of tool-calling turns
goes back with their tool results) and, with PreservedThinking, that every earlier
turn keeps its ``reasoning_content`` unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import teragent
from teragent_testing.agent_harness import check_result, run_agent, script_two_tool_turns
from teragent_testing.fake_openai import ScriptedReply
from teragent_testing.fake_glm import FakeGLMServer


def _provider(server: FakeGLMServer, *, preserved: bool = True) -> Any:
    # PreservedThinking is the glm_52 compiler's option (on by default); the adapter's
    # own option covers drivers without it.
    return teragent.create_provider(
        compiler="glm_52", adapter="glm_native", model="glm-5.2",
        base_url="http://fake.test/api/paas/v4", transport=httpx.ASGITransport(app=server),
        compiler_options={"preserved_thinking": preserved})


@pytest.mark.parametrize("preserved", [False, True], ids=["interleaved", "preserved"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_agent_loop_two_tool_turns_thinking_on(stream: bool, preserved: bool) -> None:
    server = FakeGLMServer()
    script_two_tool_turns(server)
    result = run_agent(_provider(server, preserved=preserved), stream)
    check_result(result)
    assert server.rejected == [] and server.unconsumed == 0
    third = server.requests[2].body
    assert [m.get("reasoning_content") for m in third["messages"]
            if m["role"] == "assistant"] == [
        "I should add 2 and 3 first.", "Now both remaining sums, in parallel."]
    if preserved:
        assert third["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert result.messages[-1].get("reasoning_content") == "All done."


def test_preserved_thinking_keeps_reasoning_of_earlier_user_turns() -> None:
    """A second task in the same conversation: with PreservedThinking the first task's
    reasoning stays (the fake checks it); without, it is stripped."""
    for preserved in (False, True):
        server = FakeGLMServer()
        server.script(ScriptedReply(text="first answer", reasoning="first thoughts"),
                      ScriptedReply(text="second answer"))

        async def main() -> None:
            async with _provider(server, preserved=preserved) as provider:
                messages: list[dict[str, Any]] = [{"role": "user", "content": "one"}]
                first = await provider.complete(messages)
                messages += [first.to_message(), {"role": "user", "content": "two"}]
                await provider.complete(messages)

        asyncio.run(main())
        assert server.rejected == []
        earlier = server.requests[1].body["messages"][1]
        assert ("reasoning_content" in earlier) is preserved
