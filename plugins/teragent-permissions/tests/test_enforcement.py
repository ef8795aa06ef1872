"""With the plugin installed, every tool-call path uses the manager by default: a
DESTRUCTIVE tool is stopped and the audit log shows it."""

from __future__ import annotations

import argparse
import asyncio

import teragent_permissions
from teragent import AgentLoop, AgentLoopConfig, hookimpl
from teragent.security import EnhancedPermissionManager, PermissionLevel
from teragent.testing import ScriptedModel, call_tool, call_tools, reply
from teragent.testing.hosts import isolated_host
from teragent_testing.security import security_fixture
from teragent.tools.orchestrator import ToolOrchestrator
from teragent.core.types import ToolSafety


def test_agent_loop_uses_the_manager_by_default(tmp_path):
    fx = security_fixture(tmp_path)
    assert isinstance(fx.permission_manager, EnhancedPermissionManager)
    model = ScriptedModel([call_tools(("wipe_directory", {"path": "important"}),
                                      ("peek", {"path": "notes.txt"})),
                           reply("The wipe was refused.")])
    loop = AgentLoop(model, fx.registry, hook_manager=fx.hook_manager, workspace=tmp_path)
    assert isinstance(loop.permission_manager, EnhancedPermissionManager)

    async def go():
        try:
            return await loop.run("clean up")
        finally:
            await model.close()

    result = asyncio.run(go())
    assert [o.denied for o in result.tool_outcomes] == [True, False]
    record = fx.assert_blocked_and_audited()
    assert record["source"] == "EnhancedPermissionManager"
    assert "destructive tools are denied" in record["reason"]
    assert [r["outcome"] for r in fx.records()] == ["denied", "executed"]


def test_agent_loop_flags_still_work_through_the_manager(tmp_path):
    fx = security_fixture(tmp_path)
    model = ScriptedModel([call_tool("wipe_directory", {"path": "build"}), reply("done")])
    loop = AgentLoop(model, fx.registry, AgentLoopConfig(allow_destructive=True),
                     hook_manager=fx.hook_manager, workspace=tmp_path)
    asyncio.run(loop.run("clean"))
    model.assert_consumed()
    assert fx.destructive.ran == [{"path": "build"}]
    assert fx.records()[-1]["outcome"] == "executed"


class CountingLayer:
    calls = 0

    def check(self, tool_name, params, context):
        CountingLayer.calls += 1
        return None


class Counting:
    @hookimpl
    def teragent_register_permission_layers(self, register):
        register("counting", CountingLayer, priority=150)


def test_tool_orchestrator_with_the_manager(tmp_path):
    with isolated_host(teragent_permissions, Counting()):
        fx = security_fixture(tmp_path)
        orch = ToolOrchestrator(fx.registry, hook_manager=fx.hook_manager,
                                enhanced_perm_manager=fx.permission_manager)
        CountingLayer.calls = 0
        out = asyncio.run(orch.execute_batch([fx.call()]))
        assert out[0].denied
        fx.assert_blocked_and_audited()
        assert CountingLayer.calls == 1  # consulted once, inside the manager
        # The manager learnt the tool's safety from the orchestrator.
        assert fx.permission_manager.get_status_report()["known_tools"]["wipe_directory"] \
            == "destructive"


def test_tool_orchestrator_without_a_manager_ignores_our_layers(tmp_path):
    fx = security_fixture(tmp_path, permission_manager=None)
    orch = ToolOrchestrator(fx.registry, hook_manager=fx.hook_manager)
    out = asyncio.run(orch.execute_batch([{"id": "1", "name": "peek",
                                           "arguments": {"path": "x"}}, fx.call()]))
    assert out[0].success and out[1].denied  # the SafetyGate still refuses
    fx.assert_blocked_and_audited()


def test_cli_wires_config_rules_and_audit(tmp_path, monkeypatch):
    from teragent.cli.commands import build_agent
    from teragent.audit import AuditLog

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "agent.toml").write_text(
        '[drivers.mock.local]\nmodel = "m"\n\n[permission]\nmode = "plan"\n'
        'rules = { allow = ["read_file:*"], deny = ["*:**/.env*", "read_file:/etc/*"] }\n')
    args = argparse.Namespace(workspace=None, model="mock.local", max_steps=None,
                              no_stream=False, allow_writes=False, allow_shell=False,
                              tools=None)
    loop = build_agent(args)
    pm = loop.permission_manager
    assert isinstance(pm, EnhancedPermissionManager) and pm.level == PermissionLevel.PLAN
    assert not pm.check("read_file", "/etc/passwd")[0]
    assert not pm.check("read_file", ".env")[0]
    audits = [o for o in loop.runtime.chain.observers if isinstance(o, AuditLog)]
    assert audits and audits[0].path == tmp_path / ".teragent" / "audit.jsonl"
    assert loop.tool_orchestrator.guards[0].manager is pm


READ_ONLY = {"read_file": ToolSafety.READ_ONLY}


class AsyncOnlyLayer:
    """A plugin layer written for the async path only: its check is a coroutine."""

    async def check(self, tool_name, params, context):
        return "deny", "async layer says no"


class AsyncOnly:
    @hookimpl
    def teragent_register_permission_layers(self, register):
        register("async_only", AsyncOnlyLayer, priority=150)


class SplitLayer:
    """Answers differently on the two paths: acheck is what the async path asks."""

    def check(self, tool_name, params, context):
        return None

    async def acheck(self, tool_name, params, context):
        return "deny", "acheck says no"

    async def areview(self, tool_name, params, context):
        return None


class Split:
    @hookimpl
    def teragent_register_permission_layers(self, register):
        register("split", SplitLayer, priority=150)


def test_a_coroutine_check_denies_on_the_sync_path_instead_of_passing(tmp_path):
    # The sync path cannot wait for a coroutine; it used to take the coroutine object
    # itself for a truthy "allow" (fail open).
    with isolated_host(teragent_permissions, AsyncOnly()):
        epm = EnhancedPermissionManager(workspace=tmp_path, tools=READ_ONLY,
                                        default_level=PermissionLevel.AUTO)
        ok, reason = epm.check("read_file", "a.txt")
        assert not ok and "returned an awaitable" in reason and "async_only" in reason
        assert asyncio.run(epm.acheck("read_file", "a.txt")) == (False,
                                                                 "async layer says no")


def test_the_async_path_prefers_acheck_and_the_sync_path_uses_check(tmp_path):
    with isolated_host(teragent_permissions, Split()):
        epm = EnhancedPermissionManager(workspace=tmp_path, tools=READ_ONLY,
                                        default_level=PermissionLevel.AUTO)
        assert asyncio.run(epm.acheck("read_file", "a.txt")) == (False, "acheck says no")
        assert epm.check("read_file", "a.txt")[0]  # check abstains: the built-ins allow
