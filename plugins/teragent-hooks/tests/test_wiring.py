"""[[hooks]] reach every agent through the composition root (a plugin guard at order 80
that also observes), and an audit hook replaces the kernel's audit log."""

from __future__ import annotations

import asyncio

import pytest
from teragent.audit import AuditLog, read_audit_log
from teragent.compose import build_runtime
from teragent.core.types import ToolCall, ToolSafety
from teragent.errors import MissingPluginError
from teragent.guards import HookManagerGuard
from teragent.testing.hosts import isolated_host
from teragent_hooks.builtin import AuditHook


class Tool:
    safety = ToolSafety.READ_ONLY


def test_hooks_from_agent_toml_guard_and_observe(tmp_path):
    config = {"hooks": [
        {"type": "shell", "event": "pre_execute", "matcher": "bash",
         "command": "echo no bash today >&2; exit 2"},
        {"type": "audit", "path": "logs/audit.jsonl"},
    ]}
    runtime = build_runtime(config, workspace=tmp_path)
    hooks = [g for g in runtime.chain.guards if isinstance(g, HookManagerGuard)]
    assert len(hooks) == 1 and hooks[0] in runtime.chain.observers
    # The audit hook audits: the kernel adds no second audit log.
    assert not any(type(o) is AuditLog for o in runtime.chain.observers)
    decision = asyncio.run(hooks[0].check(ToolCall(id="1", name="bash",
                                                   arguments={"command": "ls"}), Tool()))
    assert not decision.allowed and "no bash today" in decision.reason
    manager = hooks[0].manager
    assert isinstance(manager.hooks("post_execute")[0], AuditHook)
    assert isinstance(manager.hooks("post_execute")[0], AuditLog)


def test_no_hooks_no_guard_and_the_kernel_audit_log(tmp_path):
    runtime = build_runtime({}, workspace=tmp_path)
    assert not any(isinstance(g, HookManagerGuard) for g in runtime.chain.guards)
    logs = [o for o in runtime.chain.observers if isinstance(o, AuditLog)]
    assert [log.path for log in logs] == [tmp_path.resolve() / ".teragent" / "audit.jsonl"]
    assert read_audit_log(tmp_path / "missing.jsonl") == []


def test_without_the_plugin_hooks_are_refused_not_ignored(tmp_path):
    with isolated_host():
        with pytest.raises(MissingPluginError, match="pip install teragent-hooks"):
            build_runtime({"hooks": [{"type": "dangerous_command"}]}, workspace=tmp_path)
