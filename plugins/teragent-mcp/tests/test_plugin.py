"""The hookimpls, through an isolated plugin host holding only the kernel and this plugin:
the ``[mcp]`` table, the ``mcp`` tool pack and the ``mcp`` command register by import
string, and an agent built without ``[mcp]`` gets no MCP tools and no pool."""

from __future__ import annotations

import teragent
import teragent_mcp
from teragent.testing import ScriptedModel, reply
from teragent.testing.hosts import isolated_host


def test_hooks_register_the_table_the_pack_and_the_command():
    with isolated_host(teragent_mcp) as host:
        assert "mcp" in host.registry("config_tables").names()
        assert host.registry("tools").entry("mcp").resolve().__name__ == "MCPServers"
        assert "mcp" in host.registry("commands").names()


def test_an_agent_without_mcp_servers_has_no_mcp_tools(isolated):
    from teragent_mcp.connection import MCPConnectionPool

    before = MCPConnectionPool._shared
    with isolated_host(teragent_mcp):
        agent = teragent.build_agent({}, workspace=isolated,
                                     provider=ScriptedModel([reply("ok")]))
        assert agent.tools.list_tool_names() == []  # builtin registers no tools
    assert MCPConnectionPool._shared is before  # no pool thread was started for it
