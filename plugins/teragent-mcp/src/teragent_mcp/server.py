"""``teragent mcp serve``: TerAgent's installed tools as an MCP server.

Other clients (Claude Code, Codex, IDEs) then use TerAgent's tools with TerAgent's
guarantees: every ``tools/call`` goes through the guard chain the composition root
builds for an agent (:func:`teragent.compose.build_runtime`: the permission manager or
safety gate with the run's flags, protected paths, command checks, plugin guards,
``[[hooks]]``), and every attempt, refused or run, lands in the workspace's audit log.
Nothing prompts: there is no terminal on the protocol's stdin, so a call the flags and
rules do not allow is refused with the reason, as an ``isError`` result.

Tools are listed with MCP annotations derived from their safety level
(``readOnlyHint``, ``destructiveHint``), so a client's own approval UI can use them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from typing import Any

from teragent.core.types import ToolCall, ToolSafety

__all__ = ["GuardedToolServer", "build_server"]


class GuardedToolServer:
    """An MCP ``Server`` whose tools run through one agent runtime's guard chain.

    Args:
        tools: The :class:`~teragent.ToolRegistry` to expose.
        runtime: The :class:`~teragent.runtime.AgentRuntime` (its chain guards calls).
        loop_config: Tool timeout and output cap come from it.
        bus: The event bus guards and observers report to.
        name: The server's name in the handshake.
    """

    def __init__(self, tools: Any, runtime: Any, loop_config: Any, *, bus: Any = None,
                 name: str = "teragent") -> None:
        from teragent.tools.orchestrator import ToolOrchestrator

        self.tools = tools
        self.runtime = runtime
        self.orchestrator = ToolOrchestrator(
            tools, guard_chain=runtime.chain, timeout=loop_config.tool_timeout,
            max_output_chars=loop_config.max_tool_output_chars, bus=bus)
        self.name = name
        self._ids = itertools.count(1)
        self.server = self._make_server()

    def mcp_tools(self) -> list[Any]:
        import mcp_types as types

        out = []
        for tool in self.tools.list_tools():
            safety = ToolSafety(tool.safety)
            out.append(types.Tool(
                name=tool.name, description=tool.description or tool.name,
                input_schema=dict(tool.parameters_schema or {"type": "object"}),
                annotations=types.ToolAnnotations(
                    read_only_hint=safety == ToolSafety.READ_ONLY,
                    destructive_hint=safety in (ToolSafety.DESTRUCTIVE, ToolSafety.HIGH_RISK),
                    idempotent_hint=safety == ToolSafety.READ_ONLY,
                    open_world_hint=bool(getattr(tool, "url_params", ())
                                         or safety == ToolSafety.HIGH_RISK))))
        return out

    async def call(self, name: str, arguments: Mapping[str, Any] | None) -> Any:
        """Run one call through the guarded path; an MCP ``CallToolResult``."""
        import mcp_types as types

        call = ToolCall(id=f"mcp-{next(self._ids)}", name=name,
                        arguments=dict(arguments or {}))
        outcome = await self.orchestrator.execute_one(call)
        result = outcome.result
        text = result.to_text()
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    is_error=not result.success)

    def _make_server(self) -> Any:
        import mcp_types as types
        from mcp.server.lowlevel import Server

        async def list_tools(ctx: Any, params: Any) -> Any:
            return types.ListToolsResult(tools=self.mcp_tools())

        async def call_tool(ctx: Any, params: Any) -> Any:
            return await self.call(params.name, params.arguments)

        from teragent_mcp import __version__

        return Server(self.name, version=__version__,
                      instructions="TerAgent's tools; every call passes TerAgent's guards "
                                   "(permissions, protected paths, command checks) and is "
                                   "audited.",
                      on_list_tools=list_tools, on_call_tool=call_tool)

    # --- transports ---------------------------------------------------------------------

    async def serve_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())

    def http_app(self, *, host: str = "127.0.0.1", path: str = "/mcp") -> Any:
        """The streamable-HTTP ASGI app (DNS-rebinding protection on for loopback)."""
        return self.server.streamable_http_app(streamable_http_path=path, host=host)


def build_server(config: Any = None, *, workspace: str | os.PathLike[str] | None = None,
                 tool_names: Iterable[str] | None = None, offer_all_tools: bool = False,
                 **options: Any) -> GuardedToolServer:
    """A :class:`GuardedToolServer` for ``agent.toml`` plus overrides, assembled by the
    composition root (``build_runtime``) like an agent: same tools, same guards.

    Args:
        config: ``agent.toml`` (a path, the loaded dict, or ``None`` to search for it).
        workspace: The directory the tools work in (default: the current one).
        tool_names: Which installed tools to expose (default: ``[tools]``, else all).
        offer_all_tools: List tools the guards will refuse too.
        **options: ``AgentLoopConfig`` flags (``allow_writes=``, ``allow_shell=``,
            ``allow_destructive=``) and ``build_runtime`` arguments (``guards=``,
            ``approval_gate=``, ``permission_manager=``, ``audit=``).
    """
    from teragent.compose import _config, _offered, _tools_config, build_runtime, loop_config_from
    from teragent.events import EventBus
    from teragent.plugins import get_host
    from teragent.tools.registry import ToolRegistry, default_tool_names

    cfg = _config(config)
    ws = os.path.realpath(os.fspath(workspace or os.getcwd()))
    runtime_args = {k: options.pop(k) for k in (
        "permission_manager", "hook_manager", "guards", "approval_gate", "audit", "host")
        if k in options}
    loop_cfg = loop_config_from(cfg, **options)
    bus = EventBus()
    runtime = build_runtime(cfg, workspace=ws, loop_config=loop_cfg, bus=bus,
                            circuit_breaker=False, recovery_manager=False, **runtime_args)
    names = list(tool_names) if tool_names is not None else None
    explicit = names is not None
    if cfg.get("tools"):
        chosen = _tools_config(cfg)
        explicit = explicit or chosen.enabled is not None
        host = runtime_args.get("host") or get_host()
        names = chosen.choose(default_tool_names(host.registry("tools"), cfg), names)
    tools = ToolRegistry.from_plugins(names, workspace=ws, config=cfg)
    if not explicit and not offer_all_tools:
        tools = _offered(tools, runtime)
    tools.bind_path_policy(runtime.path_policy)
    return GuardedToolServer(tools, runtime, loop_cfg, bus=bus)
