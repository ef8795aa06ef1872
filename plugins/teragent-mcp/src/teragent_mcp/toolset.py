"""``MCPToolset``: one MCP server's tools as ordinary TerAgent tools.

Each server tool becomes an :class:`MCPTool` (a :class:`~teragent.tools.BaseTool`), so
every call takes the guarded path of any tool: the decider (permissions or the safety
gate), protected paths, command checks, plugin guards, approvals, and the audit log.

- **Safety** comes from the tool's annotations, read as claims (see
  :func:`safety_from_annotations`): the cautious level when a hint is missing, and no
  claim lifts a DENY rule, since rules are matched on the tool's name.
- **Effects**: parameters named like paths (``path``, ``repo_path``, ``file``...) are
  declared as paths (read for read-only tools, write otherwise), ``url``/``uri`` as
  URLs; ``[mcp.servers.NAME] params`` overrides; any other string argument is checked
  as a path of unknown effect.
- **Output** is text for the model, cut at ``max_output_chars``. It goes back as the
  tool's result (data in a tool message), never as a model turn, so a server cannot
  make the agent call a tool by what it returns.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from teragent.core.types import ToolSafety
from teragent.errors import UserError
from teragent.secrets import declare_sensitive_arguments, schema_secret_paths
from teragent.tools.base import BaseTool, ToolEffects, ToolPack, ToolResult

from teragent_mcp.content import (MAX_DESCRIPTION, local_path, result_text, tool_name,
                                  tool_names)

if TYPE_CHECKING:  # the config model and the SDK's connections load with a server
    from teragent_mcp.config import MCPServerConfig
    from teragent_mcp.connection import MCPConnectionPool

__all__ = ["MCPToolset", "MCPTool", "safety_from_annotations", "result_text", "tool_name"]

_PATHLIKE = re.compile(r"(?:^|_)(?:path|paths|file|files|filename|filepath|dir|dirs|"
                       r"directory|folder|cwd|root|dest|destination|source|src)$", re.I)
_URLLIKE = re.compile(r"(?:^|_)(?:url|urls|uri|href|endpoint)$", re.I)
_MAX_PAGES = 100


def _all_pages(method: str, field: str) -> Callable[[Any], Awaitable[list[Any]]]:
    """A request that follows a paginated list's ``nextCursor`` (tools, resources and
    prompts lists all page) for at most ``_MAX_PAGES`` pages, bypassing the SDK's cache."""

    async def go(client: Any) -> list[Any]:
        out: list[Any] = []
        cursor = None
        for _ in range(_MAX_PAGES):
            page = await getattr(client, method)(cursor=cursor, cache_mode="bypass")
            out.extend(getattr(page, field))
            cursor = page.next_cursor
            if not cursor:
                break
        return out

    return go


def safety_from_annotations(annotations: Any, *, trust: str = "annotations",
                            override: str | None = None) -> ToolSafety:
    """The safety level of an MCP tool from its annotations (claims by the server).

    ``readOnlyHint`` true → read-only; else ``destructiveHint`` (true when absent, the
    MCP default) → destructive, false → a write. No annotations, or ``trust = "none"``,
    → destructive. ``override`` (``tool_safety`` in the config) wins.
    """
    if override:
        return ToolSafety(override)
    if trust == "none" or annotations is None:
        return ToolSafety.DESTRUCTIVE
    if getattr(annotations, "read_only_hint", None) is True:
        return ToolSafety.READ_ONLY
    destructive = getattr(annotations, "destructive_hint", None)
    return ToolSafety.SAFE_WRITE if destructive is False else ToolSafety.DESTRUCTIVE


def _schema(raw: Any) -> dict[str, Any]:
    schema = dict(raw or {})
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def _deliver(callback: Any, text: str) -> None:
    out = callback(text)
    if inspect.isawaitable(out):
        import asyncio  # (running in the event loop: imported already)

        asyncio.ensure_future(out)


class MCPTool(BaseTool):
    """One tool of an MCP server (see the module docstring)."""

    category = "mcp"

    def __init__(self, toolset: MCPToolset, mcp_tool: Any, name: str) -> None:
        cfg = toolset.config
        self.toolset = toolset
        self.server = toolset.server
        self.mcp_name: str = mcp_tool.name
        self.name = name  # type: ignore[misc]
        desc = (mcp_tool.description or mcp_tool.title or mcp_tool.name).strip()
        # a renamed tool (characters replaced, cut, or told apart from another) says its
        # server's name for it
        own = "" if name.endswith(mcp_tool.name) else f", tool {mcp_tool.name!r}"
        self.description = (f"{desc[:MAX_DESCRIPTION]} (MCP server "  # type: ignore[misc]
                            f"{self.server!r}{own})")
        self.parameters_schema = _schema(mcp_tool.input_schema)  # type: ignore[misc]
        self.annotations = mcp_tool.annotations
        self._safety = safety_from_annotations(  # type: ignore[misc]
            mcp_tool.annotations, trust=cfg.trust, override=cfg.tool_safety.get(mcp_tool.name))
        ann = mcp_tool.annotations if cfg.trust == "annotations" else None
        self.idempotent = bool(getattr(ann, "idempotent_hint", False))
        self._concurrency_safe = self._safety == ToolSafety.READ_ONLY  # type: ignore[misc]
        self._declare(cfg.params.get(mcp_tool.name, {}))

    def _declare(self, given: Mapping[str, str]) -> None:
        props = self.parameters_schema.get("properties") or {}
        default_op = "read" if self._safety == ToolSafety.READ_ONLY else "write"
        paths: dict[str, str] = {}
        urls: list[str] = []
        commands: list[str] = []
        data: list[str] = []
        for pname, sub in props.items():
            kind = given.get(pname)
            if kind is None:
                fmt = (sub or {}).get("format") if isinstance(sub, dict) else None
                if _URLLIKE.search(pname) or fmt in ("uri", "url"):
                    kind = "url"
                elif _PATHLIKE.search(pname):
                    kind = default_op
            if kind in ("read", "write", "delete", "unknown"):
                paths[pname] = kind
            elif kind == "url":
                urls.append(pname)
            elif kind == "command":
                commands.append(pname)
            elif kind in ("data", "secret"):
                data.append(pname)
        self._url_path_op = default_op
        self.path_params = paths  # type: ignore[misc]
        self.url_params = tuple(urls)  # type: ignore[misc]
        self.command_params = tuple(commands)  # type: ignore[misc]
        self.data_params = tuple(data)  # type: ignore[misc]
        secret = (*(p for p, k in given.items() if k == "secret"),
                  *schema_secret_paths(self.parameters_schema))
        if secret:
            self.sensitive_params = tuple(dict.fromkeys(secret))  # type: ignore[misc]
            declare_sensitive_arguments(self.name, self.sensitive_params)

    def _effects(self, params: Any) -> ToolEffects:
        """A parameter named ``url`` (or of format ``uri``) often takes a local path or a
        ``file:`` URL too (server-pdf: "PDF URL or local file path"); no guard checks
        URLs against the protected paths, so such a value is checked as a path."""
        fx = super()._effects(params)
        network = []
        for value in fx.urls:
            path = local_path(value)
            if path is None:
                network.append(value)
            else:
                fx.paths.append((self._url_path_op, path))
        fx.urls = network
        return fx

    async def execute(self, params: dict[str, Any],
                      progress_callback: Any = None) -> ToolResult:
        import asyncio

        from teragent_mcp.connection import MCPCallError, MCPConnectError
        from teragent_mcp.session import SCHEMA_MISMATCH

        cfg = self.toolset.config
        on_progress = None
        if progress_callback is not None:
            caller = asyncio.get_running_loop()

            async def on_progress(progress: float, total: float | None,
                                  message: str | None) -> None:
                text = f"{progress:g}/{total:g}" if total else f"{progress:g}"
                if message:
                    text += f" {message}"
                caller.call_soon_threadsafe(_deliver, progress_callback, text)

        name = self.mcp_name
        try:
            result = await self.toolset._request(
                lambda c: c.call_tool(name, params, read_timeout_seconds=cfg.call_timeout,
                                      progress_callback=on_progress),
                f"tools/call {name!r}",
                retry=self._safety == ToolSafety.READ_ONLY and self.idempotent)
        except (MCPCallError, MCPConnectError) as exc:
            return ToolResult(success=False, error=str(exc), safety=self.safety)
        except Exception as exc:  # noqa: BLE001 - the server's protocol error, for the model
            return ToolResult(success=False, safety=self.safety, error=(
                f"MCP server {self.server!r} refused tools/call {name!r}: {exc}"))
        text, cut = result_text(result, cfg.max_output_chars,
                                f"[mcp.servers.{self.server}]")
        meta = {"mcp_server": self.server, "mcp_tool": name, "truncated": cut}
        mismatch = (getattr(result, "meta", None) or {}).get(SCHEMA_MISMATCH)
        if mismatch:  # the tool ran: its output, and what is wrong with its structure
            meta["output_schema_mismatch"] = mismatch
            text += ("\n" if text else "") + (
                f"[note: the structured result does not match the tool's declared output "
                f"schema: {mismatch[:500]}]")
        if getattr(result, "is_error", False):
            return ToolResult(success=False, error=text or "the tool reported an error",
                              safety=self.safety, metadata=meta)
        return ToolResult(success=True, data=text, safety=self.safety, metadata=meta)


class MCPToolset(ToolPack):
    """The tools (and resources and prompts) of one MCP server.

    Args:
        server: The server's name (its tools are named ``PREFIX + tool``).
        config: An :class:`~teragent_mcp.config.MCPServerConfig`, a dict of its
            fields, or ``None`` with the fields as keyword arguments
            (``MCPToolset("time", command="mcp-server-time")``).
        pool: The connection pool (default: the process-wide one).
        credential: A teragent-auth ``AuthCredential`` for an HTTP server (what
            ``auth = "NAME"`` resolves to).

    Example::

        toolset = MCPToolset("time", command="mcp-server-time")
        agent = teragent.build_agent({}, provider=model, tools=toolset.get_tools())
    """

    def __init__(self, server: str, config: MCPServerConfig | Mapping[str, Any] | None = None,
                 *, pool: MCPConnectionPool | None = None, credential: Any = None,
                 **fields: Any) -> None:
        from teragent_mcp.config import MCPServerConfig
        from teragent_mcp.connection import MCPConnectionPool

        super().__init__([])
        if config is None:
            config = MCPServerConfig(**fields)
        elif not isinstance(config, MCPServerConfig):
            config = MCPServerConfig(**dict(config), **fields)
        self.server = server
        self.name = f"mcp:{server}"  # type: ignore[misc]
        self.config: MCPServerConfig = config
        self.pool = pool or MCPConnectionPool.shared()
        self.credential = credential
        if config.auth and credential is None:
            raise UserError(f"[mcp.servers.{server}] auth = {config.auth!r} needs the "
                            "credential: build agents from agent.toml, or pass credential= "
                            "(teragent_auth.AuthManager.from_config(config).get(name))")
        self._loaded = False

    def _request(self, fn: Any, what: str, **kw: Any) -> Any:
        return self.pool.request(self.server, self.config, fn, what,
                                 credential=self.credential, **kw)

    # --- tools --------------------------------------------------------------------------

    async def _list_tools_raw(self) -> list[Any]:
        return list(await self._request(_all_pages("list_tools", "tools"), "tools/list",
                                        timeout=self.config.connect_timeout, retry=True))

    def _build(self, raw: list[Any], has_resources: bool) -> list[BaseTool]:
        cfg = self.config
        prefix = cfg.prefix_for(self.server)
        wanted = set(cfg.tools) if cfg.tools is not None else None
        chosen = [t for t in raw if (wanted is None or t.name in wanted)
                  and t.name not in cfg.exclude_tools]
        extra = ["list_resources", "read_resource"] if has_resources else []
        # one distinct name each: "get.user" and "get_user" must not share "NAME_get_user"
        names = tool_names(prefix, [*(t.name for t in chosen), *extra])
        tools: list[BaseTool] = [MCPTool(self, t, n) for t, n in zip(chosen, names)]
        if wanted:
            missing = sorted(wanted - {t.name for t in raw})
            if missing:
                raise UserError(f"[mcp.servers.{self.server}] tools names {missing} that the "
                                f"server does not offer; it offers: "
                                f"{', '.join(t.name for t in raw) or '(none)'}")
        if has_resources:
            from teragent_mcp.resources import ResourceTool

            tools.append(ResourceTool(self, names[-2], "list"))
            tools.append(ResourceTool(self, names[-1], "read"))
        return tools

    async def load(self) -> list[BaseTool]:
        """Connect and list the server's tools (again)."""
        conn = await self.pool.acquire(self.server, self.config, self.credential)
        # a server of resources or prompts only has no tools/list ("Method not found")
        raw = await self._list_tools_raw() if conn.offers("tools") else []
        has_resources = False
        if self.config.resources and getattr(conn.capabilities, "resources", None) is not None:
            # Capability alone is no promise of content: offer the two tools only when
            # there is something to read.
            # A server may offer only templates (users://{id}/profile): those are read
            # through the same tool, once the model fills the template in.
            for listing in (self.list_resources, self.list_resource_templates):
                try:
                    has_resources = bool(await listing())
                except Exception:  # noqa: BLE001 - a server without this list
                    continue
                if has_resources:
                    break
        self._tools = self._build(raw, has_resources)
        self._loaded = True
        return list(self._tools)

    def load_sync(self) -> list[BaseTool]:
        """:meth:`load` from synchronous code (what building an agent does)."""
        async def go() -> list[BaseTool]:
            return await self.load()

        return self.pool.run_sync(go(), timeout=self.config.connect_timeout * 2 + 5)

    def get_tools(self) -> list[BaseTool]:
        """The server's tools (connecting and listing them on first use)."""
        if not self._loaded:
            self.load_sync()
        return list(self._tools)

    async def on_start(self) -> None:
        await self.pool.acquire(self.server, self.config, self.credential)

    async def on_stop(self) -> None:
        """Nothing: the connection belongs to the shared pool, other agents use it."""

    async def call(self, tool: str, arguments: dict[str, Any] | None = None, *,
                   progress_callback: Any = None) -> Any:
        """Call a server tool directly (no guards: for code, not for agents) and return
        the SDK's ``CallToolResult``."""
        return await self._request(
            lambda c: c.call_tool(tool, arguments or {}, progress_callback=progress_callback),
            f"tools/call {tool!r}")

    # --- resources and prompts -----------------------------------------------------------

    async def list_resources(self) -> list[Any]:
        return list(await self._request(_all_pages("list_resources", "resources"),
                                        "resources/list", retry=True))

    async def list_resource_templates(self) -> list[Any]:
        """The server's resource templates (RFC 6570 URI templates, such as
        ``users://{id}/profile``): read one with a URI made from it."""
        return list(await self._request(
            _all_pages("list_resource_templates", "resource_templates"),
            "resources/templates/list", retry=True))

    async def read_resource(self, uri: str) -> Any:
        return await self._request(lambda c: c.read_resource(uri), "resources/read",
                                   retry=True)

    async def list_prompts(self) -> list[Any]:
        return list(await self._request(_all_pages("list_prompts", "prompts"),
                                        "prompts/list", retry=True))

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> Any:
        return await self._request(lambda c: c.get_prompt(name, arguments or {}),
                                   "prompts/get", retry=True)

    async def server_info(self) -> dict[str, Any]:
        conn = await self.pool.acquire(self.server, self.config, self.credential)
        info = conn.server_info
        return {"name": getattr(info, "name", None), "version": getattr(info, "version", None),
                "protocol_version": conn.protocol_version}


class MCPServers(ToolPack):
    """Every ``[mcp.servers.NAME]`` of ``agent.toml`` as one pack (registered as the tool
    plugin entry ``mcp``, so every agent the composition root builds gets them).

    Args:
        config: The loaded ``agent.toml``.
        workspace: The agent's directory (a stdio server's working directory unless
            ``cwd`` is set).
    """

    name = "mcp"

    def __init__(self, config: Mapping[str, Any] | None = None,
                 workspace: str | None = None) -> None:
        super().__init__([])
        self.toolsets: list[MCPToolset] = []
        table = (config or {}).get("mcp") or {}
        if not table:
            return  # no [mcp]: no servers, and neither the config model nor the SDK loads
        from teragent_mcp.config import MCPConfig
        from teragent_mcp.connection import MCPConnectionPool

        mcp = table if isinstance(table, MCPConfig) else MCPConfig(**table)
        seen: dict[str, str] = {}
        enabled = {n: c for n, c in mcp.servers.items() if c.enabled}
        if not enabled:
            return  # no pool (and no thread) for an agent without MCP servers
        pool = MCPConnectionPool.shared(mcp.max_connections)
        from teragent.plugins import get_host

        # a server must not replace an installed tool by naming one of its own alike
        installed = set(get_host().registry("tools").names()) - {"mcp"}
        creds = _credentials(config or {}, enabled)
        for server, scfg in enabled.items():
            if scfg.transport == "stdio" and scfg.cwd is None and workspace:
                scfg = scfg.model_copy(update={"cwd": str(workspace)})
            ts = MCPToolset(server, scfg, pool=pool, credential=creds.get(server))
            for t in ts.get_tools():
                if t.name in installed:
                    raise UserError(f"MCP server {server!r} offers a tool named {t.name!r}, "
                                    "the name of an installed tool; set tool_prefix in "
                                    f"[mcp.servers.{server}] so it cannot take its place.")
                if t.name in seen:
                    raise UserError(f"tool {t.name!r} is offered by MCP servers "
                                    f"{seen[t.name]!r} and {server!r}; set tool_prefix in "
                                    f"[mcp.servers.{server}] to tell them apart.")
                seen[t.name] = server
                self._tools.append(t)
            self.toolsets.append(ts)


def _credentials(config: Mapping[str, Any],
                 servers: Mapping[str, MCPServerConfig]) -> dict[str, Any]:
    """``{server: AuthCredential}`` for the servers with ``auth = "NAME"``."""
    wanted = {name: c.auth for name, c in servers.items() if c.auth}
    if not wanted:
        return {}
    try:
        from teragent_auth import AuthManager
    except ImportError:
        from teragent.errors import MissingPluginError

        raise MissingPluginError("auth = \"...\" in [mcp.servers]", "teragent-auth") from None
    manager = AuthManager.from_config(config)
    return {server: manager.get(name) for server, name in wanted.items()}
