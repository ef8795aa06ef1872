"""A 1.x-SDK server (``mcp.server.fastmcp``, run by the sqlite venv of
scripts/install-mcp-deps.sh) whose tools make server-initiated requests of the client:
roots/list, sampling/createMessage, elicitation/create. The client declares none of
these capabilities, so each must be refused at once, never left unanswered."""

from mcp import types
from mcp.server.fastmcp import Context, FastMCP
from pydantic import BaseModel

mcp = FastMCP("v1 requests")


class Name(BaseModel):
    name: str


@mcp.tool(annotations=types.ToolAnnotations(readOnlyHint=True))
async def roots(ctx: Context) -> str:
    return f"roots: {await ctx.session.list_roots()}"


@mcp.tool(annotations=types.ToolAnnotations(readOnlyHint=True))
async def sample(ctx: Context) -> str:
    msg = types.SamplingMessage(role="user", content=types.TextContent(type="text", text="hi"))
    return f"sample: {await ctx.session.create_message(messages=[msg], max_tokens=5)}"


@mcp.tool(annotations=types.ToolAnnotations(readOnlyHint=True))
async def ask(ctx: Context) -> str:
    return f"elicit: {await ctx.elicit('name?', Name)}"


mcp.run()
