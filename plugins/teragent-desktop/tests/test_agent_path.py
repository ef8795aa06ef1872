"""Through the composition root: the desktop tool is refused like any destructive tool
unless the run allows it, and it is offered only to agents that ask for it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import teragent
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.tools.desktop import DesktopSafetyConfig, DesktopTool

CLICK = {"action": "click", "x": 150, "y": 90}


def _run(agent: Any) -> Any:
    async def go() -> Any:
        try:
            return await agent.run("click the button")
        finally:
            await agent.aclose()
    return asyncio.run(go())


def _agent(ws: Path, tool: DesktopTool, **options: Any) -> Any:
    model = ScriptedModel([call_tool("desktop", CLICK), reply("done")])
    return teragent.build_agent({}, workspace=ws, provider=model, tools=[tool], stream=False,
                                **options)


def test_without_permission_the_guard_chain_refuses_and_nothing_happens(
        xev: Any, tmp_path: Path) -> None:
    tool = DesktopTool(DesktopSafetyConfig(min_interval=0), display=xev.display)
    result = _run(_agent(tmp_path, tool))
    [outcome] = result.tool_outcomes
    assert outcome.denied and not outcome.result.success
    # the run's decider: the permission manager (teragent-permissions) or the kernel's
    # SafetyGate, both refuse destructive tools unless allowed
    assert "destructive" in outcome.result.error and "desktop" in outcome.result.error
    xev.sentinel()
    assert not [e for e in xev.events("ButtonPress") if e.button != 2]
    [entry] = [json.loads(line) for line in
               (tmp_path / ".teragent" / "audit.jsonl").read_text().splitlines()]
    assert entry["tool_name"] == "desktop" and entry["outcome"] == "denied"


def test_with_destructive_tools_allowed_the_click_reaches_the_display(
        xev: Any, tmp_path: Path) -> None:
    tool = DesktopTool(DesktopSafetyConfig(min_interval=0), display=xev.display)
    result = _run(_agent(tmp_path, tool, allow_destructive=True))
    [outcome] = result.tool_outcomes
    assert outcome.result.success, outcome.result.error
    evs = xev.wait_for(lambda evs: any(e.type == "ButtonPress" for e in evs), "the click")
    assert [e.root for e in evs if e.type == "ButtonPress"] == [(150, 90)]


def test_an_approval_gate_decides_each_call(xev: Any, tmp_path: Path) -> None:
    asked: list[str] = []

    class Deny:
        async def check(self, call: Any, tool: Any) -> Any:
            from teragent.guards import GuardDecision

            asked.append(call.name)
            return GuardDecision(False, "the user said no", source="approval")

    tool = DesktopTool(DesktopSafetyConfig(min_interval=0), display=xev.display)
    result = _run(_agent(tmp_path, tool, allow_destructive=True, approval_gate=Deny()))
    assert asked == ["desktop"] and result.tool_outcomes[0].denied
    xev.sentinel()
    assert not [e for e in xev.events("ButtonPress") if e.button != 2]


def _offered(ws: Path, config: dict[str, Any], **options: Any) -> list[str]:
    agent = teragent.build_agent(config, workspace=ws, provider=ScriptedModel([]),
                                 allow_destructive=True, **options)
    try:
        return list(agent.tools.list_tool_names())
    finally:
        asyncio.run(agent.aclose())


def test_the_tool_is_opt_in(tmp_path: Path) -> None:
    assert "desktop" not in _offered(tmp_path, {})
    assert "desktop" not in _offered(tmp_path, {"desktop": {"enabled": False}})
    assert "desktop" in _offered(tmp_path, {"desktop": {"enabled": True}})
    assert _offered(tmp_path, {"tools": {"enabled": ["desktop"]}}) == ["desktop"]
    assert _offered(tmp_path, {}, tool_names=["desktop"]) == ["desktop"]
    # every "all the installed tools" (the service's conversations, `teragent mcp serve`)
    from teragent.tools.registry import ToolRegistry

    assert "desktop" not in ToolRegistry.from_plugins(workspace=str(tmp_path)).list_tool_names()
    assert "desktop" in ToolRegistry.from_plugins(
        workspace=str(tmp_path), config={"desktop": {"enabled": True}}).list_tool_names()
    # [desktop] configures the tool the composition root builds
    agent = teragent.build_agent({"desktop": {"enabled": True, "max_consecutive_ops": 7,
                                              "display": ":5"}},
                                 workspace=tmp_path, provider=ScriptedModel([]),
                                 allow_destructive=True)
    tool = agent.tools.get("desktop")
    assert tool.safety_config.max_consecutive_ops == 7 and tool.display == ":5"
    asyncio.run(agent.aclose())
