"""Lists that come in pages: tools, resources and prompts each follow ``nextCursor`` to
the end. The server is a real MCP server over stdio (the SDK's low-level ``Server``,
in a subprocess) that serves every list three items a page."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SERVER = textwrap.dedent('''
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    PAGE = 3

    def page(items, params):
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + PAGE
        return items[start:end], (str(end) if end < len(items) else None)

    TOOLS = [types.Tool(name=f"t{i}", input_schema={"type": "object"}) for i in range(7)]
    RESOURCES = [types.Resource(uri=f"mem://r{i}", name=f"r{i}") for i in range(8)]
    PROMPTS = [types.Prompt(name=f"p{i}") for i in range(5)]

    async def list_tools(ctx, params):
        items, cursor = page(TOOLS, params)
        return types.ListToolsResult(tools=items, nextCursor=cursor)

    async def list_resources(ctx, params):
        items, cursor = page(RESOURCES, params)
        return types.ListResourcesResult(resources=items, nextCursor=cursor)

    async def list_prompts(ctx, params):
        items, cursor = page(PROMPTS, params)
        return types.ListPromptsResult(prompts=items, nextCursor=cursor)

    server = Server("pager", on_list_tools=list_tools, on_list_resources=list_resources,
                    on_list_prompts=list_prompts)

    async def main():
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
''')


@pytest.fixture()
def pager(tmp_path: Path, pool: Any) -> Any:
    from teragent_mcp import MCPToolset

    script = tmp_path / "pager.py"
    script.write_text(SERVER)
    return MCPToolset("pg", pool=pool, command=sys.executable, args=[str(script)],
                      connect_timeout=30, health_interval=0)


def test_every_list_follows_next_cursor_to_the_end(pager: Any) -> None:
    async def main() -> tuple[list[Any], list[Any], list[Any]]:
        return (await pager._list_tools_raw(), await pager.list_resources(),
                await pager.list_prompts())

    tools, resources, prompts = asyncio.run(main())
    assert [t.name for t in tools] == [f"t{i}" for i in range(7)]
    assert [r.name for r in resources] == [f"r{i}" for i in range(8)]
    assert [p.name for p in prompts] == [f"p{i}" for i in range(5)]
    offered = {t.name for t in pager.get_tools()}
    assert {f"pg_t{i}" for i in range(7)} <= offered
