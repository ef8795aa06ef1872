"""A 1.x-SDK low-level server (run by the sqlite venv of scripts/install-mcp-deps.sh)
that offers resources and prompts and no tools: it declares no tools capability and
answers tools/list with "Method not found"."""

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

server = Server("no tools")


@server.list_prompts()
async def list_prompts() -> list[types.Prompt]:
    return [types.Prompt(name="hello", description="hi")]


@server.get_prompt()
async def get_prompt(name: str, arguments: dict | None) -> types.GetPromptResult:
    text = types.TextContent(type="text", text="hello ✓")
    return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=text)])


@server.list_resources()
async def list_resources() -> list[types.Resource]:
    return [types.Resource(uri="mem://a", name="a", mimeType="text/plain")]


@server.read_resource()
async def read_resource(uri: object) -> str:
    return "content of a"


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


anyio.run(main)
