"""EnhancedPermissionManager: the documented API, levels, config, layers, classifier."""

from __future__ import annotations

import asyncio
import os

import pytest
import teragent_permissions
from teragent import hookimpl
from teragent.core.types import ToolSafety
from teragent.errors import ConfigError
from teragent.security import (
    EnhancedPermissionManager,
    PermissionEffect,
    PermissionLevel,
    PermissionRule,
)
from teragent.testing import ScriptedModel, reply
from teragent.testing.hosts import isolated_host

SAFETY = {"read_file": ToolSafety.READ_ONLY, "write_file": ToolSafety.SAFE_WRITE,
          "bash": ToolSafety.HIGH_RISK, "wipe": ToolSafety.DESTRUCTIVE}


def make(tmp_path, **kw) -> EnhancedPermissionManager:
    return EnhancedPermissionManager(workspace=tmp_path, tools=SAFETY, **kw)


def test_seed_example(tmp_path):
    epm = EnhancedPermissionManager()
    epm.add_rule(PermissionRule(effect=PermissionEffect.DENY, tool_pattern="read_file",
                                path_pattern="/etc/*",
                                description="Block reading system directories", source="user"))
    epm.add_rule(PermissionRule(effect=PermissionEffect.ALLOW, tool_pattern="read_file",
                                description="Reading files is always allowed", source="system"))
    assert epm.check("read_file", path="/etc/passwd") == \
        (False, "Denied by rule: Block reading system directories")
    assert epm.check("read_file", path="/etc/ssh/sshd_config")[0] is False  # subtree
    assert epm.check("read_file", path=str(tmp_path / "x"))[0] is True


def test_constructor_as_documented():
    epm = EnhancedPermissionManager(default_level=PermissionLevel.PLAN,
                                    default_effect=PermissionEffect.DENY, ai_classifier=None)
    assert epm.level == PermissionLevel.PLAN


def test_default_rules_use_tool_safety(tmp_path):
    epm = make(tmp_path)
    assert epm.check("read_file", "a.txt")[0]
    ok, reason = epm.check("write_file", "a.txt")
    assert not ok and "Denied by default" in reason and "safe_write" in reason
    ok, reason = epm.check("wipe", "a")
    assert not ok and "destructive" in reason
    assert not epm.check("bash")[0]
    assert not epm.check("read_file", ".env")[0]
    assert not epm.check("read_file", "sub/.env.local")[0]
    assert not epm.check_tool_params("unknown_tool", {"path": "a"})[0]  # unknown safety


def test_user_rule_beats_system_rule_and_deny_wins_ties(tmp_path):
    epm = make(tmp_path)
    epm.add_rule(PermissionRule(PermissionEffect.ALLOW, "wipe", "build/**", "clean builds", "user"))
    assert epm.check("wipe", "build/out")[0]
    assert not epm.check("wipe", "src")[0]
    epm.add_rule(PermissionRule(PermissionEffect.DENY, "wipe", "build/keep", "keep it", "user"))
    assert epm.check("wipe", "build/keep/x") == (False, "Denied by rule: keep it")


def test_levels(tmp_path):
    epm = make(tmp_path)
    epm.add_rule(PermissionRule(PermissionEffect.ALLOW, "write_file", "", "writes ok", "user"))
    epm.set_level("plan")
    assert epm.check("read_file", "a")[0]
    ok, reason = epm.check("write_file", "a")
    assert not ok and "plan" in reason  # the ceiling beats an allow rule
    epm.set_level(PermissionLevel.ACCEPT_EDITS)
    epm.clear_rules()
    epm.add_rules(epm.default_rules())
    assert epm.check("write_file", "a")[0]
    assert not epm.check("bash")[0]
    epm.set_level(PermissionLevel.BYPASS)
    assert epm.check("bash")[0] and epm.check("write_file", "a")[0]
    assert not epm.check("wipe", "a")[0]  # a rule DENY is never bypassed
    assert not epm.check("read_file", ".env")[0]
    epm.set_level(PermissionLevel.AUTO)
    ok, reason = epm.check("write_file", "a")
    assert not ok and "classifier" in reason  # sync check: no classifier, fail closed
    epm.set_level(PermissionLevel.CUSTOM)
    epm.clear_rules()
    assert not epm.check("read_file", "a")[0]  # custom: rules only, none left
    epm.set_level(PermissionLevel.DEFAULT)
    assert epm.check("read_file", "a")[0]  # the default level grants read-only tools


def test_elevate_deactivate(tmp_path):
    epm = make(tmp_path, default_level="plan")
    assert not epm.check("write_file", "a")[0]
    assert epm.elevate(PermissionLevel.ACCEPT_EDITS) == PermissionLevel.PLAN
    assert epm.check("write_file", "a")[0]
    epm.deactivate()
    assert epm.level == PermissionLevel.PLAN and not epm.check("write_file", "a")[0]
    with pytest.raises(ValueError, match="unknown permission level"):
        epm.set_level("yolo")


def test_load_from_config_seed_example(tmp_path):
    (tmp_path / ".env").write_text("K=v")
    epm = make(tmp_path)
    n = epm.load_from_config({"permission": {
        "mode": "plan",
        "rules": {"allow": ["read_file:*", "explore_codebase:*"],
                  "deny": ["*:**/.env*", "read_file:/etc/*"]}}})
    assert n == 4 and epm.level == PermissionLevel.PLAN
    assert epm.check("read_file", "src/a.py")[0]
    assert not epm.check("read_file", "/etc/hosts")[0]
    assert not epm.check("read_file", ".env")[0]
    assert not epm.check("read_file", "x/.env.prod")[0]
    assert not epm.check("write_file", "a")[0]
    assert epm.load_from_config({"rules": {"allow": ["bash:*"]}}) == 1  # replaces
    assert [r["tool_pattern"] for r in epm.get_rules_summary() if r["source"] == "config"] \
        == ["bash"]
    with pytest.raises(ConfigError, match="permission"):
        epm.load_from_config({"permission": {"rules": {"maybe": ["x"]}}})
    with pytest.raises(ConfigError):
        epm.load_from_config({"permission": {"mode": "nope"}})


def test_rules_api_and_reports(tmp_path):
    epm = make(tmp_path)
    epm.add_rules([PermissionRule(PermissionEffect.ALLOW, "bash", source="project"),
                   PermissionRule(PermissionEffect.DENY, "bash", "", "no shell", "user")])
    summary = epm.get_rules_summary()
    priorities = [r["priority"] for r in summary]
    assert priorities == sorted(priorities, reverse=True)
    assert summary[0]["description"] == "no shell"
    assert epm.remove_rules_by_source("user") == 1
    assert epm.check("bash")[0]
    report = epm.get_status_report()
    assert report["level"] == "default" and report["rules"]["project"] == 1
    assert [la["name"] for la in report["layers"]][:4] == [
        "user_rules", "config_rules", "project_rules", "system_rules"]
    assert report["layers"][-1]["name"] == "default_deny"
    assert report["decisions"]["allowed"] >= 1
    epm.set_level("bypass")
    epm.reset()
    assert epm.level == PermissionLevel.DEFAULT
    assert epm.get_status_report()["rules"] == {"system": len(epm.default_rules())}
    assert epm.get_status_report()["decisions"] == {"allowed": 0, "denied": 0, "asked": 0}
    with pytest.raises(ValueError, match="unknown rule source"):
        PermissionRule(source="admin")


def test_check_tool_params_checks_every_path(tmp_path):
    epm = make(tmp_path, default_level="accept_edits")
    epm.add_rule(PermissionRule(PermissionEffect.DENY, "*", "secret", "secret dir", "user"))
    assert epm.check_tool_params("write_file", {"path": "a.txt"})[0]
    files = {"files": [{"path": "a.txt"}, {"path": "secret/b.txt"}]}
    assert epm.check_tool_params("write_file", files) == (False, "Denied by rule: secret dir")
    assert not epm.check_tool_params("write_file", {"src": "a", "dst": "secret/x"})[0]
    ok, reason = epm.check_tool_params("write_file", {"path": "a\u2215b"})
    assert not ok and "cannot be checked" in reason  # unreadable spelling: fail closed


def test_ai_classifier_is_consultative(tmp_path):
    async def go():
        model = ScriptedModel([reply("DENY: sends the repository to an unknown host"),
                               reply("ALLOW: fine"), reply("gibberish")])
        epm = make(tmp_path, default_level="auto", ai_classifier=model)
        epm.add_rule(PermissionRule(PermissionEffect.DENY, "bash", "", "never bash", "user"))
        ok, reason = await epm.acheck_tool_params("write_file", {"path": "a"}, "upload")
        assert not ok and "AI classifier" in reason and "unknown host" in reason
        assert (await epm.acheck("write_file", "a"))[0]
        ok, reason = await epm.acheck("write_file", "a")  # unreadable → ASK → denied
        assert not ok and "approver" in reason
        # A rule deny is final: the classifier is not even asked (the script is empty).
        assert (await epm.acheck("bash")) == (False, "Denied by rule: never bash")
        assert (await epm.acheck("read_file", "a"))[0]  # read-only: not reviewed
        model.assert_consumed()
        assert model.requests[0].as_messages()[0]["role"] == "system"
    asyncio.run(go())


def test_ask_rules_use_the_ask_handler(tmp_path):
    from teragent_permissions.approval import ApprovalGate

    async def go():
        answers = iter([True, False])
        gate = ApprovalGate(lambda request: next(answers))
        epm = make(tmp_path, ask_handler=gate)
        epm.add_rule(PermissionRule(PermissionEffect.ASK, "bash", "", "ask first", "user"))
        ok, reason = await epm.acheck_tool_params("bash", {"command": "ls"})
        assert ok and "approved by a human" in reason
        ok, reason = await epm.acheck_tool_params("bash", {"command": "ls"})
        assert not ok and "rejected" in reason
        assert not epm.check("bash")[0]  # sync check: nobody to ask
    asyncio.run(go())


class Veto:
    calls = 0

    def check(self, tool_name, params, context):
        Veto.calls += 1
        if tool_name == "read_file" and "manager" in context:
            return False, "third party says no"
        return None


class Boom:
    def check(self, tool_name, params, context):
        raise RuntimeError("broken layer")


class ThirdParty:
    @hookimpl
    def teragent_register_permission_layers(self, register):
        register("veto", Veto, priority=200)


class Broken:
    @hookimpl
    def teragent_register_permission_layers(self, register):
        register("boom", Boom, priority=70)


def test_third_party_layers_join_the_stack(tmp_path):
    with isolated_host(teragent_permissions, ThirdParty()):
        epm = make(tmp_path)
        names = [la["name"] for la in epm.get_status_report()["layers"]]
        assert names[0] == "veto" and "user_rules" in names
        assert epm.check("read_file", "a") == (False, "third party says no")
        assert epm.check("write_file", "a")[0] is False  # no opinion → the usual layers
    with isolated_host(teragent_permissions, Broken()):
        ok, reason = make(tmp_path).check("read_file", "a")
        assert not ok and "broken layer" in reason and "boom" in reason


def test_builtin_layers_are_registered_through_the_hook():
    from teragent.plugins import get_host

    reg = get_host().registry("permission_layers")
    assert {"user_rules", "config_rules", "project_rules", "system_rules", "permission_level",
            "ai_classifier", "default_deny"} <= set(reg.names())
    assert reg.entry("user_rules").options["priority"] == 100
    # Called bare (as a ToolOrchestrator without the manager would), they have no opinion.
    for name in reg.names():
        layer = reg.entry(name).resolve()()
        assert layer.check("wipe", {"path": "/"}, {"safety": "destructive"}) is None


def test_missing_plugin_error_names_the_install_command(monkeypatch):
    import subprocess
    import sys

    code = ("import sys; sys.modules['teragent_permissions'] = None\n"
            "from teragent.errors import MissingPluginError\n"
            "try:\n    from teragent.security import EnhancedPermissionManager\n"
            "except MissingPluginError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "TERAGENT_PLUGINS": ""})
    assert "pip install teragent-permissions" in out.stdout


def test_may_allow(tmp_path):
    epm = make(tmp_path)
    assert epm.may_allow("read_file") and not epm.may_allow("write_file")
    epm.add_rule(PermissionRule(PermissionEffect.ALLOW, "write_file", "src/**", source="config"))
    assert epm.may_allow("write_file")


def test_rule_order_cache_follows_every_change():
    from teragent.security import EnhancedPermissionManager, PermissionEffect, PermissionRule

    epm = EnhancedPermissionManager()
    epm.clear_rules()
    a = PermissionRule(effect=PermissionEffect.ALLOW, tool_pattern="a", source="system")
    b = PermissionRule(effect=PermissionEffect.DENY, tool_pattern="b", source="user")
    epm.add_rule(a)
    assert epm.rules == [a]
    epm.clear_rules()
    epm.add_rule(b)  # same count as before the clear: the cached order must not survive
    assert epm.rules == [b]
    epm.add_rule(a)
    assert epm.rules == [b, a]  # user (100) before system (10)
    assert epm.remove_rules_by_source("user") == 1
    assert epm.rules == [a]
