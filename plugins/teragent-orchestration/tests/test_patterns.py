"""The five patterns end to end with the kernel's ScriptedModel."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from patterns_helpers import BlockTool, CancelOnTool, Recorder, Rendezvous

from teragent.errors import MaxStepsExceeded, RunCancelled
from teragent.orchestration import (
    Agent, CancellationToken, Handoff, HandoffInputFilter, Orchestrator, OrchestrationMode,
)
from teragent.testing import ScriptedModel, call_tool, reply


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def last_user(messages: list[dict[str, Any]]) -> str:
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def types(result: Any) -> list[str]:
    return [e.type for e in result.trace]


def test_sequential_each_agent_sees_the_previous_output() -> None:
    seen: list[str] = []

    def sees(text: str) -> Any:
        def expect(messages: list[dict[str, Any]], tools: Any) -> bool:
            seen.append(last_user(messages))
            return text in last_user(messages)
        return expect

    a = Agent(name="designer", provider=ScriptedModel([reply("DESIGN-1")]),
              instructions="Design it.")
    b = Agent(name="coder", provider=ScriptedModel([reply("CODE-2", expect=sees("DESIGN-1"))]))
    c = Agent(name="reviewer", provider=ScriptedModel([reply("LGTM-3", expect=sees("CODE-2"))]))
    hooks = Recorder()
    result = run(Orchestrator([a, b, c], mode=OrchestrationMode.SEQUENTIAL, hooks=hooks)
                 .run("Build a REST API"))
    assert result.final_output == "LGTM-3"
    assert [r.agent for r in result.agent_results] == ["designer", "coder", "reviewer"]
    assert result.agent_outputs == {"designer": "DESIGN-1", "coder": "CODE-2",
                                    "reviewer": "LGTM-3"}
    assert all("Build a REST API" in s for s in seen)
    assert types(result)[0] == "agent_start" and types(result)[-1] == "run_end"
    assert [c for c in hooks.calls if c[0] in ("start", "end")] == [
        ("start", "designer"), ("end", "designer"), ("start", "coder"), ("end", "coder"),
        ("start", "reviewer"), ("end", "reviewer")]
    assert ("model_start", "coder") in hooks.calls
    for m in (a, b, c):
        m.provider.assert_consumed()
    # the agent's instructions are its system prompt
    assert a.provider.requests[0].as_messages()[0]["content"] == "Design it."


def test_swarm_two_handoffs_with_input_filter() -> None:
    def no_tool_messages(messages: list[dict[str, Any]], tools: Any) -> bool:
        return not any(m["role"] == "tool" or m.get("tool_calls") for m in messages)

    triage = Agent(name="triage", provider=ScriptedModel([
        call_tool("transfer_to_billing", {"reason": "refund question"}, text="Routing.")]),
        handoffs=[Handoff(target_agent="billing", tool_name="transfer_to_billing",
                          input_filter=HandoffInputFilter.remove_all_tools)])
    billing = Agent(name="billing", provider=ScriptedModel([
        call_tool("transfer_to_support", {"reason": "needs a human"},
                  expect=no_tool_messages)]),
        handoffs=["support"])
    support = Agent(name="support", provider=ScriptedModel([reply("Refund issued.")]))
    hooks = Recorder()
    events: list[Any] = []

    async def go() -> None:
        async for event in Orchestrator([triage, billing, support], mode="swarm",
                                        hooks=hooks).run_stream("I want my money back"):
            events.append(event)
    run(go())
    handoffs = [e for e in events if e.type == "handoff"]
    assert [(e.agent, e.target) for e in handoffs] == [("triage", "billing"),
                                                       ("billing", "support")]
    assert handoffs[0].reason == "refund question"
    assert events[-1].type == "run_end" and events[-1].final_output == "Refund issued."
    assert ("handoff", "triage", "billing") in hooks.calls
    assert ("handoff", "billing", "support") in hooks.calls
    # the handoff tools ran through the guarded path (tool_start/tool_end events)
    assert [e.tool_name for e in events if e.type == "tool_end"] == [
        "transfer_to_billing", "transfer_to_support"]
    # the handing-off agent's turn ended at the handoff: one model call each
    assert len(triage.provider.requests) == 1 and len(billing.provider.requests) == 1
    # the support agent got the filtered conversation (user task, no tool messages)
    support_msgs = support.provider.requests[0].as_messages()
    assert any("I want my money back" in str(m["content"]) for m in support_msgs)
    assert all(dataclasses.is_dataclass(e) and isinstance(e.type, str) for e in events)


def test_swarm_handoff_bound() -> None:
    ping = Agent(name="ping", provider=ScriptedModel([call_tool("transfer_to_pong")] * 2),
                 handoffs=["pong"])
    pong = Agent(name="pong", provider=ScriptedModel([call_tool("transfer_to_ping")] * 1),
                 handoffs=["ping"])
    with pytest.raises(MaxStepsExceeded, match="2 handoffs"):
        run(Orchestrator([ping, pong], mode="swarm").run("go", max_handoffs=2))


def test_parallel_agents_overlap_in_time_and_merge() -> None:
    meet = Rendezvous(parties=3)
    agents = [Agent(name=f"worker{i}", tools=[meet], provider=ScriptedModel(
        [call_tool("rendezvous"), reply(f"part {i}")])) for i in range(3)]
    merged: dict[str, str] = {}

    def merge(outputs: dict[str, str]) -> str:
        merged.update(outputs)
        return " + ".join(outputs[k] for k in sorted(outputs))

    result = run(Orchestrator(agents, mode=OrchestrationMode.PARALLEL, merge=merge)
                 .run("split the work"))
    assert result.final_output == "part 0 + part 1 + part 2"
    assert meet.max_inside == 3  # all three were inside the tool at once
    starts = {e.agent: e.at for e in result.trace if e.type == "agent_start"}
    ends = {e.agent: e.at for e in result.trace if e.type == "agent_end"}
    # every agent started before any agent ended: the runs overlap
    assert max(starts.values()) < min(ends.values())


def test_parallel_merge_agent() -> None:
    def sees_all(messages: list[dict[str, Any]], tools: Any) -> bool:
        text = last_user(messages)
        return "north report" in text and "south report" in text

    north = Agent(name="north", provider=ScriptedModel([reply("north report")]))
    south = Agent(name="south", provider=ScriptedModel([reply("south report")]))
    editor = Agent(name="editor", provider=ScriptedModel([reply("merged", expect=sees_all)]))
    result = run(Orchestrator([north, south, editor], mode="parallel", merge_agent="editor")
                 .run("weather"))
    assert result.final_output == "merged"
    assert [r.agent for r in result.agent_results][-1] == "editor"


def test_conditional_router_agent_picks_by_tool_call() -> None:
    router = Agent(name="router", provider=ScriptedModel([call_tool("transfer_to_billing")]))
    tech = Agent(name="tech", provider=ScriptedModel([]), description="technical problems")
    billing = Agent(name="billing", provider=ScriptedModel([reply("Your invoice is paid.")]),
                    description="invoices and payments")
    result = run(Orchestrator([router, tech, billing], mode=OrchestrationMode.CONDITIONAL)
                 .run("Was my invoice paid?"))
    assert result.final_output == "Your invoice is paid."
    assert tech.provider.requests == []
    route = [e for e in result.trace if e.type == "handoff"]
    assert route and route[0].target == "billing"
    # the router was offered one transfer tool per candidate
    offered = {t["function"]["name"] for t in router.provider.requests[0].tools}
    assert offered == {"transfer_to_tech", "transfer_to_billing"}


def test_conditional_router_by_name_and_by_function() -> None:
    router = Agent(name="router", provider=ScriptedModel([reply("tech")]))
    tech = Agent(name="tech", provider=ScriptedModel([reply("rebooted")]))
    billing = Agent(name="billing", provider=ScriptedModel([]))
    out = run(Orchestrator([router, tech, billing], mode="conditional").run("wifi down"))
    assert out.final_output == "rebooted"

    tech2 = Agent(name="tech", provider=ScriptedModel([]))
    billing2 = Agent(name="billing", provider=ScriptedModel([reply("paid")]))
    out = run(Orchestrator([tech2, billing2], mode="conditional",
                           router=lambda task, names: "billing").run("invoice?"))
    assert out.final_output == "paid"


def test_loop_exits_on_condition() -> None:
    gen = Agent(name="writer", provider=ScriptedModel([reply("draft 1"), reply("draft 2")]))
    critic = Agent(name="critic", provider=ScriptedModel([reply("Too short."),
                                                          reply("APPROVED")]))
    result = run(Orchestrator([gen, critic], mode=OrchestrationMode.LOOP).run(
        "a haiku", max_iterations=5))
    assert result.final_output == "draft 2"
    assert result.stop_reason == "exit_condition" and result.iterations == 2
    assert "Too short." in last_user(gen.provider.requests[1].as_messages())
    gen.provider.assert_consumed()
    critic.provider.assert_consumed()


def test_loop_stops_at_its_bound() -> None:
    gen = Agent(name="writer", provider=ScriptedModel([reply("d1"), reply("d2")]))
    critic = Agent(name="critic", provider=ScriptedModel([reply("no"), reply("still no")]))
    seen: list[int] = []

    def never(critique: str, draft: str, iteration: int) -> bool:
        seen.append(iteration)
        return False

    result = run(Orchestrator([gen, critic], mode="loop", exit_condition=never).run(
        "a haiku", max_iterations=2))
    assert result.stop_reason == "max_iterations" and result.iterations == 2
    assert result.final_output == "d2" and seen == [1, 2]
    assert [e.iteration for e in result.trace if e.type == "iteration"] == [1, 2]


# --- cancellation in the middle of each pattern ---------------------------------------


def _cancel_case(mode: str) -> tuple[list[Agent], dict[str, Any], BlockTool,
                                     CancellationToken, list[ScriptedModel]]:
    block = BlockTool()
    token = CancellationToken()
    hooks = CancelOnTool(token)
    blocker = ScriptedModel([call_tool("block"), reply("never")])
    later = ScriptedModel([reply("never")])
    options: dict[str, Any] = {}
    if mode == "sequential":
        agents = [Agent(name="a", provider=ScriptedModel([reply("A")])),
                  Agent(name="b", provider=blocker, tools=[block]),
                  Agent(name="c", provider=later)]
    elif mode == "swarm":
        agents = [Agent(name="a", provider=ScriptedModel([call_tool("transfer_to_b")]),
                        handoffs=["b"]),
                  Agent(name="b", provider=blocker, tools=[block], handoffs=["c"]),
                  Agent(name="c", provider=later)]
    elif mode == "parallel":
        other = BlockTool()
        agents = [Agent(name="a", provider=blocker, tools=[block]),
                  Agent(name="b", provider=ScriptedModel([call_tool("block2"), reply("x")]),
                        tools=[_renamed(other, "block2")]),
                  Agent(name="merger", provider=later)]
        options["merge_agent"] = "merger"
    elif mode == "conditional":
        agents = [Agent(name="router", provider=ScriptedModel([call_tool("transfer_to_b")])),
                  Agent(name="b", provider=blocker, tools=[block]),
                  Agent(name="c", provider=later)]
    else:
        agents = [Agent(name="gen", provider=ScriptedModel([reply("d1"), call_tool("block"),
                                                             reply("never")]),
                        tools=[block]),
                  Agent(name="critic", provider=ScriptedModel([reply("again"),
                                                               reply("never")]))]
        blocker = agents[0].provider
        later = agents[1].provider
    return agents, {**options, "hooks": hooks, "cancellation_token": token}, block, token, \
        [blocker, later]


def _renamed(tool: BlockTool, name: str) -> BlockTool:
    tool.name = name
    return tool


@pytest.mark.parametrize("mode", ["sequential", "swarm", "parallel", "conditional", "loop"])
def test_cancellation_interrupts_the_tool_in_flight(mode: str) -> None:
    agents, options, block, token, (blocker, later) = _cancel_case(mode)
    orch = Orchestrator(agents, mode=mode, **options)
    with pytest.raises(RunCancelled):
        run(orch.run("task", max_iterations=3))
    assert token.is_cancelled
    assert block.started == 1 and block.cancelled == 1  # stopped inside the tool
    # nothing ran after the cancellation: the blocked agent's final reply and the
    # agents after it were never asked
    assert [s.text for s in blocker.script.steps] == ["never"]
    assert [s.text for s in later.script.steps] == ["never"]
    if mode == "parallel":
        other = agents[1].tools[0]
        assert other.cancelled == 1  # the sibling branch was stopped too


def test_cancellation_interrupts_a_model_stream() -> None:
    """Cancel while the model is streaming slowly: the stream stops mid-way."""
    token = CancellationToken()
    long_text = " ".join(f"w{i}" for i in range(200))
    slow = ScriptedModel([reply(long_text, chunk_delay=0.01)])
    agent = Agent(name="talker", provider=slow)
    deltas: list[str] = []

    async def go() -> None:
        async for event in Orchestrator([agent], mode="sequential",
                                        cancellation_token=token).run_stream("talk"):
            if event.type == "text_delta":
                deltas.append(event.text)
                if len(deltas) == 3:
                    token.cancel()

    with pytest.raises(RunCancelled):
        run(go())
    assert 3 <= len(deltas) < 50
