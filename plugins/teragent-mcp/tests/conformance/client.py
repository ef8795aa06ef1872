"""The client side of the MCP conformance suite: TerAgent's MCP client (MCPToolset over
streamable HTTP) as the program ``conformance client --command`` runs.

The suite appends the server URL and names the scenario in ``MCP_CONFORMANCE_SCENARIO``.
The client connects, lists the tools and calls each one with arguments made from its
input schema (numbers 1, 2, ...; strings "x"), which is what the scenarios observe.
"""

from __future__ import annotations

import asyncio
import itertools
import sys


def _arguments(schema: dict) -> dict:
    counter = itertools.count(1)
    out = {}
    for name, sub in (schema.get("properties") or {}).items():
        kind = (sub or {}).get("type")
        out[name] = next(counter) if kind in ("number", "integer") else \
            True if kind == "boolean" else "x"
    return out


async def main(url: str) -> int:
    from teragent_mcp import MCPConnectionPool, MCPToolset

    pool = MCPConnectionPool()
    toolset = MCPToolset("conformance", url=url, pool=pool, connect_timeout=20,
                         call_timeout=20, health_interval=0)
    try:
        for tool in await toolset.load():
            if not hasattr(tool, "mcp_name"):
                continue
            result = await toolset.call(tool.mcp_name, _arguments(tool.parameters_schema))
            print(tool.mcp_name, "->", result.content[:1] if result.content else result)
    finally:
        await pool.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[-1])))
