"""The orchestration runtime: registry lookup, a third-party pattern and guardrail
registered through the hooks this plugin adds, state, locks, cancellation, cache,
checkpoints, nested agents and config models."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from teragent import AgentLoop, hookimpl
from teragent_orchestration.orchestration_config import OrchestrationConfig
from teragent.errors import GuardrailTripped, MissingPluginError, UserError
from teragent.orchestration import (
    Agent, AgentTool, AsyncRWLock, CancellationToken, Guardrail, OrchestrationCheckpoint,
    OrchestrationMode, Orchestrator, OrchestratorTool, Pattern, ResultCache, SharedState,
)
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.testing.hosts import isolated_host
from teragent.tools.registry import ToolRegistry


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class EchoChain(Pattern):
    """A third party's pattern: every agent gets the task, the last output wins."""

    name = "echo_chain"

    async def run(self, ctx: Any, task: str) -> str:
        out = ""
        for agent in ctx.agent_list:
            out = (await ctx.run_agent(agent, task, step=f"echo:{agent.name}")).output
        return out


class ThirdPartyPlugin:
    @hookimpl
    def teragent_register_patterns(self, register: Any) -> None:
        register("echo_chain", EchoChain)

    @hookimpl
    def teragent_register_guardrails(self, register: Any) -> None:
        register("no_rm", Guardrail(lambda text, ctx: "rm -rf" in text, kind="input",
                                    name="no_rm"))


@pytest.fixture
def host(patterns_host: Any) -> Any:
    patterns_host.add_plugin(ThirdPartyPlugin(), name="third-party")
    return patterns_host


def test_missing_patterns_plugin_names_the_install_command() -> None:
    with isolated_host():  # the kernel alone: this plugin is not registered
        orch = Orchestrator([Agent(name="a", provider=ScriptedModel([]))],
                            mode=OrchestrationMode.SWARM)
        with pytest.raises(MissingPluginError, match="pip install teragent-orchestration"):
            run(orch.run("task"))


def test_third_party_pattern_through_the_hook(host: Any) -> None:
    agents = [Agent(name="a", provider=ScriptedModel([reply("one")])),
              Agent(name="b", provider=ScriptedModel([reply("two")]))]
    result = run(Orchestrator(agents, mode="echo_chain").run("task"))
    assert result.final_output == "two" and result.mode == "echo_chain"
    assert [e.type for e in result.trace].count("agent_start") == 2


def test_guardrail_registered_by_name(host: Any) -> None:
    agent = Agent(name="a", provider=ScriptedModel([]), guardrails=["no_rm"])
    with pytest.raises(GuardrailTripped):
        run(Orchestrator([agent], mode="echo_chain").run("please rm -rf /"))


def test_result_cache_skips_a_repeated_turn(host: Any) -> None:
    cache = ResultCache()
    model = ScriptedModel([reply("cached answer")])  # one step: a second call would fail
    orch = Orchestrator([Agent(name="a", provider=model)], mode="echo_chain", cache=cache)
    first = run(orch.run("same task"))
    second = run(orch.run("same task"))
    assert first.final_output == second.final_output == "cached answer"
    assert second.agent_results[0].source == "cache"
    assert cache.stats["hits"] == 1 and cache.stats["misses"] == 1


def test_result_cache_ttl_lru_and_stats() -> None:
    now = [0.0]
    cache = ResultCache(max_size=2, ttl=10, clock=lambda: now[0])
    k1, k2, k3 = (ResultCache.make_key("agent", n) for n in (1, 2, 3))
    assert k1 == ResultCache.make_key("agent", 1) and k1 != k2
    cache.set(k1, "v1")
    cache.set(k2, "v2")
    assert cache.get(k1) == "v1"  # k1 is now the most recently used
    cache.set(k3, "v3")  # evicts k2, the least recently used
    assert k2 not in cache and cache.get(k3) == "v3"
    now[0] = 10.0
    assert cache.get(k1) is None  # expired
    assert cache.stats == {"hits": 2, "misses": 1, "evictions": 1, "expirations": 1,
                           "size": 1, "max_size": 2, "hit_rate": round(2 / 3, 4)}


def test_checkpoint_atomic_save_restore_list_cleanup(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ck = OrchestrationCheckpoint(tmp_path)
    assert ck.restore("run-1") is None and ck.list() == []
    ck.save("run-1", {"completed": {"s1": {"output": "x"}}})
    assert ck.restore("run-1")["completed"] == {"s1": {"output": "x"}}

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ck.save("run-1", {"completed": {}})
    monkeypatch.undo()
    assert ck.restore("run-1")["completed"] == {"s1": {"output": "x"}}  # old one intact
    assert not list(tmp_path.glob(".*.tmp"))
    ck.save("run-2", {})
    ck.save("run-3", {})
    os.utime(tmp_path / "run-1.json", (1, 1))  # make run-1 the oldest
    assert ck.list()[0] == "run-1"
    assert ck.cleanup(keep=2) == ["run-1"]
    assert sorted(ck.list()) == ["run-2", "run-3"]
    with pytest.raises(UserError):
        ck.save("../escape", {})


def test_shared_state_scopes() -> None:
    SharedState.clear_global()
    a, b = SharedState(), SharedState()
    a.set("key", "value", scope="session")
    assert a.get("key", scope="session") == "value" and b.get("key") is None
    a.set("seen", 1, scope="agent", agent="coder")
    assert a.get("seen", scope="agent", agent="coder") == 1
    assert a.get("seen", scope="agent", agent="reviewer") is None
    a.set("shared", True, scope="global")
    assert b.get("shared", scope="global") is True
    with pytest.raises(UserError):
        a.set("x", 1, scope="agent")
    restored = SharedState()
    restored.restore(a.snapshot())
    assert restored.get("key") == "value"
    SharedState.clear_global()


def test_shared_state_parallel_updates_are_not_lost() -> None:
    state = SharedState()

    async def bump() -> None:
        async def slow_inc(v: int) -> int:
            await asyncio.sleep(0)  # yield inside the critical section
            return v + 1
        await state.aupdate("n", slow_inc, 0)

    async def go() -> None:
        await asyncio.gather(*(bump() for _ in range(50)))
    run(go())
    assert state.get("n") == 50


def test_rwlock_writer_preference() -> None:
    order: list[str] = []

    async def go() -> None:
        lock = AsyncRWLock()
        reader_in = asyncio.Event()
        release_reader = asyncio.Event()

        async def first_reader() -> None:
            async with lock.read():
                order.append("r1 in")
                reader_in.set()
                await release_reader.wait()
            order.append("r1 out")

        async def writer() -> None:
            async with lock.write():
                order.append("w in")
            order.append("w out")

        async def late_reader() -> None:
            async with lock.read():
                order.append("r2 in")

        t1 = asyncio.create_task(first_reader())
        await reader_in.wait()
        tw = asyncio.create_task(writer())
        while lock._writers_waiting == 0:  # until the writer is queued
            await asyncio.sleep(0)
        t2 = asyncio.create_task(late_reader())
        for _ in range(5):
            await asyncio.sleep(0)
        assert "r2 in" not in order  # a waiting writer blocks new readers
        release_reader.set()
        await asyncio.gather(t1, tw, t2)

    run(go())
    assert order.index("w in") < order.index("r2 in")
    assert order.index("r1 out") < order.index("w in")


def test_cancellation_token_from_another_thread() -> None:
    token = CancellationToken()
    fired: list[str] = []
    token.register(lambda: fired.append("callback"))
    child = token.child()

    async def go() -> None:
        waiter = asyncio.create_task(token.wait())
        await asyncio.sleep(0)
        thread = threading.Thread(target=token.cancel, args=("stop",))
        thread.start()
        await waiter
        thread.join()

    run(go())
    assert token.is_cancelled and token.reason == "stop" and child.is_cancelled
    assert fired == ["callback"]
    token.register(lambda: fired.append("late"))  # already cancelled: runs at once
    assert fired == ["callback", "late"]


def test_agent_tool_depth_bound(host: Any) -> None:
    """An agent that delegates to itself: the depth bound stops the recursion with a
    tool error the model reads."""
    model = ScriptedModel([
        call_tool("ask_helper", {"input": "level 1"}),   # top-level loop
        call_tool("ask_helper", {"input": "level 2"}),   # depth 1
        call_tool("ask_helper", {"input": "level 3"}),   # depth 2: refused
        reply("bottom"), reply("middle"), reply("top")])
    helper = Agent(name="helper", provider=model)
    tool = AgentTool(helper, max_depth=2)
    helper.tools = [tool]
    result = run(Orchestrator([helper], mode="echo_chain").run("start"))
    assert result.final_output == "top"
    assert tool.calls == 2
    refused = [m for m in model.requests[3].as_messages() if m["role"] == "tool"]
    assert "nesting depth limit" in refused[-1]["content"]


def test_orchestrator_tool_in_an_agent_loop(host: Any) -> None:
    inner = Orchestrator([Agent(name="x", provider=ScriptedModel([reply("inner result")]))],
                         mode="echo_chain")
    team = OrchestratorTool(inner, name="run_team")
    outer = ScriptedModel([call_tool("run_team", {"input": "sub task"}), reply("used it")])
    result = run(AgentLoop(outer, ToolRegistry([team])).run("delegate"))
    assert result.final_text == "used it" and team.runs == 1
    assert result.tool_outcomes[0].result.to_text() == "inner result"


def test_orchestration_config_models() -> None:
    cfg = OrchestrationConfig.model_validate({
        "mode": "loop", "max_iterations": 3, "generator": "w", "critic": "c",
        "agents": [{"name": "w", "instructions": "write"}, {"name": "c", "handoffs": ["w"]}]})
    assert cfg.pattern_options()["max_iterations"] == 3
    with pytest.raises(ValidationError):
        OrchestrationConfig.model_validate({"agents": [{"name": "a", "handoffs": ["zz"]}]})
    with pytest.raises(ValidationError):
        OrchestrationConfig.model_validate({"agents": [{"name": "bad name!"}]})
    agent = Agent.from_config(cfg.agents[0], provider=ScriptedModel([]))
    assert agent.instructions == "write"
    orch = Orchestrator([agent, Agent(name="c")], mode=cfg.mode, config=cfg)
    assert orch.options["critic"] == "c"
    json.dumps(cfg.model_dump())
