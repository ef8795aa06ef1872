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


from teragent.testing.fake_glm import FakeGLMServer  # noqa: E402


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
    script(server)
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
