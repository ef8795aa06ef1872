"""Every tool-call path stops a DESTRUCTIVE tool under default settings, and the audit
log shows it. Kernel only (no permissions plugin: the SafetyGate enforces); the plugin
runs the same tests with its manager (plugins/teragent-permissions/tests)."""

from __future__ import annotations

import asyncio

from teragent import AgentLoop
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_testing.security import security_fixture
from teragent.tools.orchestrator import ToolOrchestrator


def test_agent_loop_stops_destructive_tool_and_audits(tmp_path):
    fx = security_fixture(tmp_path)
    assert fx.permission_manager is None  # kernel only: the SafetyGate
    model = ScriptedModel([call_tool("wipe_directory", {"path": "important"}),
                           reply("I was not allowed to.")])
    loop = AgentLoop(model, fx.registry, hook_manager=fx.hook_manager, workspace=tmp_path)
    assert loop.permission_manager is None

    async def go():
        try:
            return await loop.run("clean up")
        finally:
            await model.close()

    result = asyncio.run(go())
    assert result.tool_outcomes[0].denied
    record = fx.assert_blocked_and_audited()
    assert record["source"] == "safety_gate" and "destructive" in record["reason"]
    tool_msg = [m for m in result if m["role"] == "tool"][0]
    assert "Permission denied" in tool_msg["content"]


def test_tool_orchestrator_stops_destructive_tool_and_audits(tmp_path):
    fx = security_fixture(tmp_path)
    orch = ToolOrchestrator(fx.registry, hook_manager=fx.hook_manager)
    out = asyncio.run(orch.execute_batch([fx.call()]))
    assert out[0].denied
    fx.assert_blocked_and_audited()
