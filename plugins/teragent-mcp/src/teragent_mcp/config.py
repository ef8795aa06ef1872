"""``MCPServerConfig``: one ``[mcp.servers.NAME]`` table of ``agent.toml`` (documented as
``teragent.config.mcp_config``), and ``MCPConfig``, the whole ``[mcp]`` table::

    [mcp]
    max_connections = 8            # the pool's size (least recently used idle ones go)

    [mcp.servers.time]             # stdio: a command and its arguments
    command = "mcp-server-time"
    args = ["--local-timezone", "UTC"]
    env = { TZ = "UTC" }

    [mcp.servers.docs]             # streamable HTTP (or transport = "sse")
    url = "http://127.0.0.1:8931/mcp"
    headers = { Authorization = "Bearer ${DOCS_TOKEN}" }
    call_timeout = 60

Values of ``env`` and ``headers`` may reference environment variables as ``${NAME}``;
they are resolved when the connection opens and never logged. A secret-named header or
variable (``Authorization``, ``X-Api-Key``, ``GITHUB_TOKEN``...) must be such a
reference: a literal secret in ``agent.toml`` is refused. ``auth = "NAME"`` takes the
headers of the ``[auth.NAME]`` credential of teragent-auth (bearer, API key, basic,
OAuth2 client credentials, renewed when it expires) when the connection opens.

Safety comes from the server's tool annotations, read as claims: ``readOnlyHint`` makes
a tool read-only; otherwise ``destructiveHint`` (true when absent, as the MCP spec says)
makes it destructive, else it writes. A tool without annotations is destructive.
``trust = "none"`` ignores the annotations (every tool destructive unless
``tool_safety`` names it). No claim lifts a DENY rule of ``[permission]``.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["MCPServerConfig", "MCPConfig", "resolve_env_refs", "Transport", "ParamKind"]

Transport = Literal["stdio", "sse", "streamable_http"]
Safety = Literal["read_only", "safe_write", "destructive", "high_risk"]
#: What a tool's parameter holds: a path (and what is done to it), a URL, a shell
#: command, plain data that is never opened, or a secret (data no record shows).
ParamKind = Literal["read", "write", "delete", "unknown", "url", "command", "data", "secret"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_env_refs(value: str, where: str) -> str:
    """``${NAME}`` → the environment variable's value; a missing one is an error naming
    the variable and where it was used (never the value)."""
    from teragent.errors import UserError

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise UserError(f"{where} refers to ${{{name}}}, which is not set; export "
                            f"{name} or remove the reference.")
        return os.environ[name]

    return _REF.sub(sub, value)


class MCPServerConfig(BaseModel):
    """How to reach one MCP server and how to treat its tools.

    Attributes:
        transport: ``stdio`` (with ``command``), ``streamable_http`` or ``sse`` (with
            ``url``); inferred from ``command``/``url`` when omitted.
        command: The server's executable (stdio).
        args: Its arguments.
        env: Extra environment variables for it (``${NAME}`` references allowed).
        cwd: Its working directory (default: the agent's workspace).
        url: The server's endpoint (HTTP transports).
        headers: HTTP headers sent with every request (``${NAME}`` references; a
            secret-named header must be one).
        auth: The name of an ``[auth.NAME]`` credential (teragent-auth) whose headers
            every request carries.
        connect_timeout: Seconds to start/connect and finish the handshake.
        call_timeout: Seconds one call may take.
        health_interval: Seconds between health checks of an idle connection
            (0 turns them off).
        max_output_chars: A tool result longer than this is cut, saying so.
        tool_prefix: Prepended to the server's tool names (default ``"NAME_"``), so a
            server cannot shadow another server's or a built-in tool.
        tools: Which of the server's tools to offer (default all).
        exclude_tools: Server tools not to offer.
        trust: ``annotations`` (the server's safety hints set the level) or ``none``.
        tool_safety: Per-tool safety overriding the annotations (server tool names).
        params: Per-tool parameter kinds, ``{tool = {param = "read"|"write"|"delete"|
            "unknown"|"url"|"command"|"data"|"secret"}}``; undeclared string arguments
            are checked as paths of unknown effect. A ``secret`` is data whose value no
            record shows (audit log, events, traces, transcripts); fields the server's
            schema marks ``format: password`` or ``writeOnly`` are secrets without it.
        resources: Offer ``PREFIXlist_resources``/``PREFIXread_resource`` tools when
            the server has resources.
        enabled: ``false`` keeps the table but connects nothing.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    transport: Transport | None = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth: str | None = None
    connect_timeout: float = Field(30.0, gt=0)
    call_timeout: float = Field(120.0, gt=0)
    health_interval: float = Field(30.0, ge=0)
    max_output_chars: int = Field(50_000, ge=100)
    tool_prefix: str | None = None
    tools: list[str] | None = None
    exclude_tools: list[str] = Field(default_factory=list)
    trust: Literal["annotations", "none"] = "annotations"
    tool_safety: dict[str, Safety] = Field(default_factory=dict)
    params: dict[str, dict[str, ParamKind]] = Field(default_factory=dict)
    resources: bool = True
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("url must be an http:// or https:// address such as "
                             "'http://127.0.0.1:8931/mcp'")
        return value

    @field_validator("tool_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value and not re.match(r"^[A-Za-z0-9_-]*$", value):
            raise ValueError("tool_prefix may hold only letters, digits, '_' and '-'")
        return value

    @model_validator(mode="after")
    def _one_endpoint(self) -> MCPServerConfig:
        if self.command and self.url:
            raise ValueError("give either command (a stdio server) or url (an HTTP "
                             "server), not both")
        if not self.command and not self.url:
            raise ValueError("needs command = \"...\" (a stdio server) or url = "
                             "\"http://...\" (an HTTP server)")
        if self.transport is None:
            self.transport = "stdio" if self.command else "streamable_http"
        elif self.transport == "stdio" and not self.command:
            raise ValueError("transport = \"stdio\" needs command = \"...\"")
        elif self.transport != "stdio" and not self.url:
            raise ValueError(f"transport = \"{self.transport}\" needs url = \"http://...\"")
        if self.url is None and (self.headers or self.auth):
            raise ValueError("headers and auth apply to HTTP servers only (this one has a "
                             "command; give a stdio server its secrets through env = "
                             "{ NAME = \"${NAME}\" })")
        return self

    @field_validator("headers", "env")
    @classmethod
    def _no_literal_secrets(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        from teragent.secrets import is_secret_name

        for key, val in value.items():
            if is_secret_name(key) and val and not _REF.search(val):
                raise ValueError(
                    f"{info.field_name}.{key} holds a secret written into agent.toml; put "
                    f"it in an environment variable (or .env) and write {key} = "
                    f"\"${{NAME}}\""
                    + (" (or auth = \"NAME\" with an [auth.NAME] credential)"
                       if info.field_name == "headers" else ""))
        return value

    def prefix_for(self, name: str) -> str:
        return f"{name}_" if self.tool_prefix is None else self.tool_prefix


class MCPConfig(BaseModel):
    """The ``[mcp]`` table: the servers and the connection pool's size."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    servers: dict[str, MCPServerConfig] = Field(default_factory=dict)
    max_connections: int = Field(16, ge=1)

    @field_validator("servers")
    @classmethod
    def _names(cls, value: dict[str, MCPServerConfig]) -> dict[str, MCPServerConfig]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"server name {name!r} may hold only letters, digits, '_' "
                                 "and '-' (at most 40): rename [mcp.servers." + name + "]")
        return value
