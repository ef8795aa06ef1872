"""Every orchestration path takes the guarded tool path: a DESTRUCTIVE tool under
default settings is refused in each pattern and after a handoff, and the audit log
shows the refusal (teragent_testing.security fixture). Also: approvals, guardrails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teragent.errors import GuardrailTripped
from teragent.orchestration import (
    Agent, ApprovalGate, Guardrail, Orchestrator, input_guardrail, output_guardrail,
)
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_testing.security import security_fixture

WIPE = ("wipe_directory", {"path": "important"})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _wiper(name: str, fx: Any, **kw: Any) -> Agent:
    return Agent(name=name, tools=fx.registry, provider=ScriptedModel(
        [call_tool(*WIPE), reply(f"{name} done")]), **kw)


def _case(mode: str, fx: Any) -> tuple[list[Agent], dict[str, Any]]:
    quiet = lambda n: Agent(name=n, provider=ScriptedModel([reply(f"{n} ok")]))  # noqa: E731
    if mode == "sequential":
        return [quiet("a"), _wiper("b", fx)], {}
    if mode == "swarm":  # the destructive call comes after a handoff
        return [Agent(name="a", provider=ScriptedModel([call_tool("transfer_to_b")]),
                      handoffs=["b"]), _wiper("b", fx)], {}
    if mode == "parallel":
        return [quiet("a"), _wiper("b", fx)], {}
    if mode == "conditional":
        return [Agent(name="router", provider=ScriptedModel([call_tool("transfer_to_b")])),
                _wiper("b", fx), quiet("c")], {}
    return [_wiper("gen", fx), Agent(name="critic", provider=ScriptedModel(
        [reply("APPROVED")]))], {}


@pytest.mark.parametrize("mode", ["sequential", "swarm", "parallel", "conditional", "loop"])
def test_destructive_tool_refused_and_audited(mode: str, tmp_path: Path) -> None:
    fx = security_fixture(tmp_path)
    agents, options = _case(mode, fx)
    orch = Orchestrator(agents, mode=mode, permission_manager=fx.permission_manager,
                        hook_manager=fx.hook_manager, workspace=tmp_path, **options)
    result = run(orch.run("clean up"))
    record = fx.assert_blocked_and_audited()
    assert record["tool_name"] == "wipe_directory"
    denied = [e for e in result.trace if e.type == "tool_denied"]
    assert [e.tool_name for e in denied] == ["wipe_directory"]
    assert not any(e.type == "tool_start" and e.tool_name == "wipe_directory"
                   for e in result.trace)
    # the model was told: the refusal came back as the tool result
    wiper = next(a for a in agents if a.name in ("b", "gen"))
    tool_msgs = [m for m in wiper.provider.requests[-1].as_messages() if m["role"] == "tool"]
    assert "Permission denied" in tool_msgs[-1]["content"]


def test_destructive_refused_with_the_permissions_plugin(tmp_path: Path,
                                                         patterns_host: Any) -> None:
    """Same with the teragent-permissions plugin's default manager, when installed."""
    permissions = pytest.importorskip("teragent_permissions")
    patterns_host.add_plugin(permissions, name="permissions")
    fx = security_fixture(tmp_path)
    assert fx.permission_manager is not None
    agents, _ = _case("swarm", fx)
    run(Orchestrator(agents, mode="swarm", permission_manager=fx.permission_manager,
                     hook_manager=fx.hook_manager, workspace=tmp_path).run("clean up"))
    fx.assert_blocked_and_audited()


def test_approval_gate_rejects_and_approves(tmp_path: Path) -> None:
    fx = security_fixture(tmp_path)
    asked: list[str] = []

    def human(request: Any) -> bool:
        asked.append(request.tool_name)
        return len(asked) > 1  # no the first time, yes the second

    gate = ApprovalGate(human, tools=["peek"])
    agent = Agent(name="a", tools=fx.registry, provider=ScriptedModel(
        [call_tool("peek", {"path": "x"}), call_tool("peek", {"path": "y"}), reply("ok")]))
    result = run(Orchestrator([agent], mode="sequential", approval_gate=gate,
                              hook_manager=fx.hook_manager).run("look"))
    assert asked == ["peek", "peek"]
    assert fx.peek.ran == [{"path": "y"}]
    assert [e.tool_name for e in result.trace if e.type == "tool_denied"] == ["peek"]


def test_input_guardrails_run_in_parallel_and_fail_fast() -> None:
    started: list[str] = []
    slow_cancelled = asyncio.Event()

    async def slow(text: str, ctx: Any) -> bool:
        started.append("slow")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            slow_cancelled.set()
            raise
        return False

    @input_guardrail
    async def no_secrets(text: str, ctx: Any) -> Any:
        started.append("no_secrets")
        return "password" in text and "contains a password"

    model = ScriptedModel([])
    agent = Agent(name="a", provider=model,
                  guardrails=[Guardrail(slow, kind="input", name="slow"), no_secrets])
    with pytest.raises(GuardrailTripped, match="contains a password") as info:
        run(Orchestrator([agent], mode="sequential").run("my password is hunter2"))
    assert info.value.state["guardrail"] == "no_secrets"
    assert sorted(started) == ["no_secrets", "slow"] and slow_cancelled.is_set()
    assert model.requests == []  # the agent never ran


def test_output_guardrail_stops_the_pipeline() -> None:
    @output_guardrail
    def no_shouting(text: str, ctx: Any) -> bool:
        return text.isupper()

    a = Agent(name="a", provider=ScriptedModel([reply("HELLO")]), guardrails=[no_shouting])
    b = Agent(name="b", provider=ScriptedModel([]))
    orch = Orchestrator([a, b], mode="sequential")
    with pytest.raises(GuardrailTripped):
        run(orch.run("greet"))
    assert b.provider.requests == []
