"""think and plugin discovery."""

from __future__ import annotations

import asyncio

from teragent.plugins import PluginHost
from teragent.tools import ToolRegistry, ToolSafety
from teragent_tools.think import ThinkTool

EIGHT = {"read_file", "write_file", "edit_file", "list_directory", "glob", "grep", "bash",
         "think"}


def test_think_returns_the_thought_and_records_it() -> None:
    tool = ThinkTool(max_thoughts=2)
    for text in ("a", "b", "c"):
        result = asyncio.run(tool.execute({"thought": text}))
        assert result.success and result.data == text
    assert tool.thoughts == ["b", "c"]
    assert tool.safety == ToolSafety.READ_ONLY and tool.concurrency_safe
    assert tool.parameters_schema["additionalProperties"] is False
    assert not asyncio.run(tool.execute({"thought": " "})).success
    assert not asyncio.run(tool.execute({})).success


def test_plugin_registers_all_eight_tools() -> None:
    host = PluginHost()
    names = set(host.registry("tools").names())
    assert EIGHT <= names
    entries = {n: host.registry("tools").entry(n) for n in EIGHT}
    assert {e.plugin for e in entries.values()} == {"tools"}


def test_tool_registry_builds_tools_for_a_workspace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = PluginHost()
    registry = ToolRegistry.from_plugins(sorted(EIGHT), host=host, workspace=str(tmp_path))
    assert set(registry.list_tool_names()) == EIGHT
    assert registry.get("read_file").workspace == tmp_path  # type: ignore[attr-defined]
    assert registry.get("bash").safety == ToolSafety.HIGH_RISK
