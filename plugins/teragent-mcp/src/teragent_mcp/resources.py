"""The two resource tools an MCP server with resources (or resource templates) gets:
list them, and read one by URI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teragent.tools.base import BaseTool, ToolResult

from teragent_mcp.content import MAX_DESCRIPTION, result_text

if TYPE_CHECKING:
    from teragent_mcp.toolset import MCPToolset

__all__ = ["ResourceTool"]


class ResourceTool(BaseTool):
    """``NAME_list_resources`` (resources and URI templates) or ``NAME_read_resource``
    (one resource by URI) of one server."""

    category = "mcp"
    _concurrency_safe = True

    def __init__(self, toolset: MCPToolset, name: str, kind: str) -> None:
        self.toolset, self.kind = toolset, kind
        self.name = name  # type: ignore[misc]
        server = toolset.server
        if kind == "list":
            description = (f"List the resources MCP server {server!r} offers (URI, name, "
                           "type) and its URI templates (fill in the {placeholders} and "
                           "read the URI made).")
            schema: dict[str, Any] = {"type": "object", "properties": {},
                                      "additionalProperties": False}
        else:
            description = f"Read one resource of MCP server {server!r} by its URI."
            schema = {"type": "object", "required": ["uri"], "additionalProperties": False,
                      "properties": {"uri": {"type": "string",
                                             "description": "The resource URI"}}}
        self.description = description  # type: ignore[misc]
        self.parameters_schema = schema  # type: ignore[misc]

    async def _listing(self) -> list[dict[str, Any]]:
        """Resources, then templates (a server without templates/list has none)."""
        data: list[dict[str, Any]] = [
            {"uri": str(r.uri), "name": r.name, "mime_type": r.mime_type}
            for r in await self.toolset.list_resources()]
        try:
            templates = await self.toolset.list_resource_templates()
        except Exception:  # noqa: BLE001 - the list is optional in the protocol
            templates = []
        data += [{"uri_template": t.uri_template, "name": t.name, "mime_type": t.mime_type,
                  **({"description": t.description[:MAX_DESCRIPTION]}
                     if t.description else {})} for t in templates]
        return data

    async def execute(self, params: dict[str, Any],
                      progress_callback: Any = None) -> ToolResult:
        from teragent_mcp.connection import MCPCallError, MCPConnectError

        cfg = self.toolset.config
        try:
            if self.kind == "list":
                data = await self._listing()
                text = json.dumps(data, ensure_ascii=False)[:cfg.max_output_chars]
                return ToolResult(success=True, data=text)
            res = await self.toolset.read_resource(params["uri"])
        except (MCPCallError, MCPConnectError) as exc:
            return ToolResult(success=False, error=str(exc))
        except Exception as exc:  # noqa: BLE001
            return ToolResult(success=False, error=f"MCP server {self.toolset.server!r} "
                              f"refused the request: {exc}")
        text, cut = result_text(res, cfg.max_output_chars, f"[mcp.servers.{self.toolset.server}]")
        return ToolResult(success=True, data=text, metadata={"truncated": cut})
