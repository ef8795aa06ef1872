"""TerAgent plugin ``mcp``: MCP servers' tools as guarded TerAgent tools, and
``teragent mcp serve`` exposing TerAgent's tools to MCP clients.

Hookimpls only; everything registers by import string (the SDK loads on first use).
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterCommand, RegisterTool
from teragent.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "MCPToolset": "teragent_mcp.toolset", "MCPTool": "teragent_mcp.toolset",
    "MCPServers": "teragent_mcp.toolset", "safety_from_annotations": "teragent_mcp.toolset",
    "MCPConnectionPool": "teragent_mcp.connection", "MCPConnection": "teragent_mcp.connection",
    "MCPConnectError": "teragent_mcp.connection", "MCPCallError": "teragent_mcp.connection",
    "MCPServerConfig": "teragent_mcp.config", "MCPConfig": "teragent_mcp.config",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("mcp", "teragent_mcp.config:MCPConfig",
             description="MCP servers whose tools agents use ([mcp.servers.NAME])")


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    # A pack built per agent from its agent.toml: every [mcp.servers.NAME]'s tools.
    register("teragent_mcp.toolset:MCPServers", name="mcp")


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("mcp", "teragent_mcp.cli:cmd_mcp",
             help="MCP: serve TerAgent's guarded tools (mcp serve), list servers' tools",
             add_arguments="teragent_mcp.cli:args_mcp")
