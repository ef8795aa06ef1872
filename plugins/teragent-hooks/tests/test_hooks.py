"""teragent.hooks: HookManager decisions, ShellHook, PythonHook, AuditHook,
DangerousCommandHook, [[hooks]] config, and the ToolOrchestrator seam."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap

import pytest
from teragent import hookimpl
from teragent.config.hooks_config import HooksConfig
from teragent.errors import ConfigError
from teragent.hooks import (
    AuditHook,
    DangerousCommandHook,
    Hook,
    HookDecision,
    HookManager,
    HookResult,
    PythonHook,
    ShellHook,
    build_hook_manager,
    read_audit_log,
)
from teragent.testing.hosts import isolated_host
from teragent_testing.security import security_fixture
from teragent.tools.orchestrator import ToolOrchestrator

CTX = {"tool_name": "bash", "params": {"command": "ls"}, "tool_call_id": "c1"}


def run(coro):
    return asyncio.run(coro)


def test_seed_usage_and_decisions():
    manager = HookManager()
    assert run(manager.run_hooks("pre_execute", CTX)) == HookDecision.ALLOW
    manager.register_hook("pre_execute", lambda ctx: {"decision": "modify",
                                                      "params": {"command": "ls -la"}})
    manager.register_hook("pre_execute", lambda event, ctx: HookDecision.DENY
                          if ctx["params"]["command"] == "ls -la" else None)
    result = run(manager.run_hooks("pre_execute", CTX))
    assert result == HookDecision.DENY and result.trail == [("<lambda>", "modify"),
                                                            ("<lambda>", "deny")]
    assert CTX["params"] == {"command": "ls"}  # the caller's context is not mutated


def test_modify_accumulates_and_matcher_filters():
    manager = HookManager()

    async def add_flag(ctx):
        return HookResult.modify({**ctx["params"], "timeout": 5})

    manager.register_hook("pre_execute", PythonHook(add_flag, matcher="ba*"))
    manager.register_hook("pre_execute", PythonHook(lambda c: False, matcher="write_*"))
    result = run(manager.run_hooks("pre_execute", CTX))
    assert result.decision == HookDecision.MODIFY
    assert result.params == {"command": "ls", "timeout": 5}
    other = run(manager.run_hooks("pre_execute", {**CTX, "tool_name": "write_file"}))
    assert other.decision == HookDecision.DENY


def test_failing_hooks_fail_closed_unless_fail_open():
    manager = HookManager()

    def boom(ctx):
        raise RuntimeError("kaput")

    manager.register_hook("pre_execute", PythonHook(boom, fail_open=True))
    assert run(manager.run_hooks("pre_execute", CTX)) == HookDecision.ALLOW
    manager.register_hook("pre_execute", PythonHook(boom))
    result = run(manager.run_hooks("pre_execute", CTX))
    assert result == HookDecision.DENY and "kaput" in result.reason

    slow = HookManager()

    async def hang(ctx):
        await asyncio.Event().wait()

    slow.register_hook("pre_execute", PythonHook(hang, timeout=0.05))
    result = run(slow.run_hooks("pre_execute", CTX))
    assert result == HookDecision.DENY and "timed out" in result.reason
    # Observer events never deny.
    obs = HookManager()
    obs.register_hook("post_execute", PythonHook(boom))
    assert run(obs.run_hooks("post_execute", CTX)) == HookDecision.ALLOW
    with pytest.raises(ValueError, match="unknown hook event"):
        obs.register_hook("before", boom)


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "hook.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_shell_hook_protocol(tmp_path):
    echo_ctx = _script(tmp_path, """
        import json, sys
        ctx = json.load(sys.stdin)
        if ctx["params"].get("command") == "rm -rf /":
            print("no way", file=sys.stderr); sys.exit(2)
        if ctx["params"].get("command") == "ls":
            print(json.dumps({"decision": "modify", "params": {"command": "ls -1"}}))
        if ctx["params"].get("command") == "bad":
            print("not json")
        if ctx["params"].get("command") == "crash":
            sys.exit(7)
    """)
    manager = HookManager()
    manager.register_hook("pre_execute", ShellHook(echo_ctx))
    assert run(manager.run_hooks("pre_execute", {**CTX, "params": {"command": "pwd"}})) \
        == HookDecision.ALLOW
    denied = run(manager.run_hooks("pre_execute", {**CTX, "params": {"command": "rm -rf /"}}))
    assert denied == HookDecision.DENY and denied.reason == "no way"
    modified = run(manager.run_hooks("pre_execute", CTX))
    assert modified.params == {"command": "ls -1"}
    for cmd, text in (("bad", "not a JSON"), ("crash", "status 7")):
        r = run(manager.run_hooks("pre_execute", {**CTX, "params": {"command": cmd}}))
        assert r == HookDecision.DENY and text in r.reason


def test_shell_hook_string_command_and_timeout_kills(tmp_path):
    manager = HookManager()
    manager.register_hook("pre_execute", ShellHook("exit 2", name="sh"))
    assert run(manager.run_hooks("pre_execute", CTX)).reason == "denied by hook 'sh'"
    pidfile = tmp_path / "pid"
    sleeper = _script(tmp_path, f"""
        import os, time
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """)
    slow = HookManager()
    slow.register_hook("pre_execute", ShellHook(sleeper, timeout=1.0))
    r = run(slow.run_hooks("pre_execute", CTX))
    assert r == HookDecision.DENY and "timed out" in r.reason
    import os

    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_audit_hook_redacts_and_appends(tmp_path):
    log = tmp_path / "a" / "audit.jsonl"
    hook = AuditHook(log, secrets=["hunter22secret"])
    manager = HookManager()
    manager.register_hook(None, hook)
    params = {"command": "curl -H 'Authorization: Bearer abcdefghijklmnop' x",
              "api_key": "sk-abcdefghijklmnopqrstuv", "note": "pw hunter22secret"}
    run(manager.run_hooks("execute_denied", {**CTX, "params": params, "reason": "no",
                                             "source": "gate"}))
    from teragent.tools.base import ToolResult

    run(manager.run_hooks("post_execute", {**CTX, "result": ToolResult(success=False,
                                                                       error="boom")}))
    text = log.read_text()
    assert "abcdefghijklmnop" not in text and "sk-abcdef" not in text
    assert "hunter22secret" not in text
    records = read_audit_log(log)
    assert [r["outcome"] for r in records] == ["denied", "failed"]
    assert records[0]["reason"] == "no" and records[0]["source"] == "gate"
    assert records[0]["params"]["api_key"] == "***"
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_dangerous_command_hook_uses_registered_checkers():
    def no_rm(cmd):
        return ("rm -rf" not in cmd, "recursive delete", ["careful"])

    class Checker:
        @hookimpl
        def teragent_register_command_checks(self, register):
            register("no_rm", no_rm)

    with isolated_host(Checker()):
        manager = HookManager()
        manager.register_hook("pre_execute", DangerousCommandHook())
        r = run(manager.run_hooks("pre_execute", {**CTX, "params": {"command": "rm -rf ~"}}))
        assert r == HookDecision.DENY and "recursive delete" in r.reason and "no_rm" in r.reason
        assert run(manager.run_hooks("pre_execute", CTX)) == HookDecision.ALLOW
        # Not a shell tool: not checked.
        assert run(manager.run_hooks("pre_execute", {"tool_name": "write_file", "params": {
            "command": "rm -rf ~"}})) == HookDecision.ALLOW
    with isolated_host():  # no checker installed: commands cannot run unchecked
        r = run(manager.run_hooks("pre_execute", CTX))
        assert r == HookDecision.DENY and "pip install teragent-shellguard" in r.reason


def test_dangerous_command_hook_with_shellguard():
    shellguard = pytest.importorskip("teragent_shellguard")
    with isolated_host(shellguard):
        hook = DangerousCommandHook()
        assert hook.check_command("rm -rf /")[0] is False
        assert hook.check_command("ls -la")[0] is True


def test_hooks_config_and_builder(tmp_path):
    config = {"hooks": [
        {"type": "audit", "path": "logs/audit.jsonl"},
        {"type": "shell", "event": "pre_execute", "matcher": "bash", "command": "exit 2"},
        {"type": "python", "event": "post_execute", "callable": "json:dumps"},
        {"type": "dangerous_command"},
    ]}
    cfg = HooksConfig.from_config(config)
    assert [h.type for h in cfg.hooks] == ["audit", "shell", "python", "dangerous_command"]
    manager = build_hook_manager(config, tmp_path)
    assert [type(h).__name__ for h in manager.hooks("pre_execute")] == [
        "ShellHook", "DangerousCommandHook"]
    audit = manager.hooks("execute_denied")[0]
    assert isinstance(audit, AuditHook) and audit.path == tmp_path / "logs" / "audit.jsonl"
    with pytest.raises(ConfigError, match=r"hooks\[0\]"):
        HooksConfig.from_config({"hooks": [{"type": "shell"}]})
    with pytest.raises(ConfigError):
        HooksConfig.from_config({"hooks": [{"type": "nope"}]})
    default = build_hook_manager({}, tmp_path, default_audit=True)
    assert isinstance(default.hooks("post_execute")[0], AuditHook)
    assert build_hook_manager({"audit": {"enabled": False}}, tmp_path,
                              default_audit=True).hooks("post_execute") == []


def test_orchestrator_seam_deny_modify_and_audit_every_attempt(tmp_path):
    fx = security_fixture(tmp_path, permission_manager=None)

    class Rewrite(Hook):
        async def run(self, event, context):
            if context["tool_name"] == "peek":
                return HookResult.modify({"path": "rewritten"})
            return None

    fx.hook_manager.register_hook("pre_execute", Rewrite())
    orch = ToolOrchestrator(fx.registry, hook_manager=fx.hook_manager)
    outcomes = run(orch.execute_batch([
        {"id": "1", "name": "peek", "arguments": {"path": "a"}},
        fx.call(),
        {"id": "3", "name": "no_such_tool", "arguments": {}},
        {"id": "4", "name": "peek", "arguments": {"wrong": 1}},
    ]))
    assert outcomes[0].success and fx.peek.ran == [{"path": "rewritten"}]
    assert outcomes[1].denied and "destructive" in outcomes[1].result.error
    records = fx.records()
    assert [(r["tool_call_id"], r["outcome"]) for r in records] == [
        ("1", "executed"), ("call_wipe", "denied"), ("3", "denied"), ("4", "denied")]
    assert records[1]["source"] == "safety_gate"
    assert json.dumps(records)  # plain JSON lines
    fx.assert_blocked_and_audited()


def test_default_command_check_only_when_a_checker_exists(tmp_path):
    class Checker:
        @hookimpl
        def teragent_register_command_checks(self, register):
            register("always_ok", lambda cmd: (True, "ok", []))

    assert build_hook_manager({}, tmp_path, default_command_check=True).hooks("pre_execute") == []
    with isolated_host(Checker()):
        hooks = build_hook_manager({}, tmp_path, default_command_check=True).hooks("pre_execute")
        assert [type(h).__name__ for h in hooks] == ["DangerousCommandHook"]
