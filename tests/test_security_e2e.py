"""End to end with every installed plugin: the real tools, the permissions manager, the
shell-command checker and the audit log, driven by a scripted model."""

from __future__ import annotations

import asyncio

import pytest

from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.hooks import build_hook_manager, read_audit_log
from teragent.plugins import PluginHost, use_host
from teragent.testing import ScriptedModel, call_tool, reply

pytest.importorskip("teragent_permissions")
pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_shellguard")


def test_real_plugins_enforce_and_audit(tmp_path):
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-" + "a" * 40 + "\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    with use_host(PluginHost()):
        tools = ToolRegistry.from_plugins(["read_file", "write_file", "bash"],
                                          workspace=str(tmp_path))
        hooks = build_hook_manager({}, tmp_path, default_audit=True, default_command_check=True)
        model = ScriptedModel([
            call_tool("read_file", {"path": "notes.txt"}),
            call_tool("read_file", {"path": "./sub/../.env"}),
            call_tool("write_file", {"path": "out.txt", "content": "x"}),
            call_tool("bash", {"command": "rm -rf / --no-preserve-root"}),
            call_tool("bash", {"command": "echo ok"}),
            reply("done"),
        ])
        loop = AgentLoop(model, tools, AgentLoopConfig(allow_shell=True, stream=False),
                         hook_manager=hooks, workspace=tmp_path)
        assert type(loop.permission_manager).__name__ == "EnhancedPermissionManager"

        async def go():
            try:
                return await loop.run("try things")
            finally:
                await model.close()

        result = asyncio.run(go())
    outcomes = [(o.call.name, o.success, o.denied) for o in result.tool_outcomes]
    assert outcomes == [("read_file", True, False), ("read_file", False, True),
                        ("write_file", False, True), ("bash", False, True),
                        ("bash", True, False)]
    assert not (tmp_path / "out.txt").exists()
    records = read_audit_log(tmp_path / ".teragent" / "audit.jsonl")
    assert [r["outcome"] for r in records] == ["executed", "denied", "denied", "denied",
                                               "executed"]
    assert "environment files hold secrets" in records[1]["reason"]
    assert records[3]["source"] == "command_check" and "dangerous command" in records[3]["reason"]
    assert "sk-aaaa" not in (tmp_path / ".teragent" / "audit.jsonl").read_text()
