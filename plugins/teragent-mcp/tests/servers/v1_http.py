"""A 1.x-SDK FastMCP server over streamable HTTP (stateful sessions, protocol
2025-11-25; run by the sqlite venv of scripts/install-mcp-deps.sh): ``python v1_http.py
PORT``. After a restart it answers the old session id with 404 "Session not found"."""

import sys

from mcp import types
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("v1 http", host="127.0.0.1", port=int(sys.argv[1]))


@mcp.tool(annotations=types.ToolAnnotations(readOnlyHint=False, destructiveHint=False))
def bump(n: int) -> int:
    """Not idempotent, as far as the client knows."""
    return n + 1


mcp.run(transport="streamable-http")
