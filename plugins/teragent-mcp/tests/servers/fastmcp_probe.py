"""A FastMCP (PyPI ``fastmcp``, an independently written server framework) server using
what the framework offers: structured output with an outputSchema, isError results,
images, progress and log notifications, elicitation, resources (text, binary, a
template), prompts, tool names that only differ in punctuation, unicode.

Run by the fastmcp venv of scripts/install-mcp-deps.sh: ``python fastmcp_probe.py``
(stdio) or ``python fastmcp_probe.py PORT`` (streamable HTTP on 127.0.0.1). A cancelled
``slow`` call writes ``cancelled`` into ``$PROBE_MARKS/slow`` so a test can see the
server was told. ``PROBE_STDOUT=N`` makes it print N lines to stdout first (a banner, as
many servers do), which are not JSON-RPC."""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from fastmcp.utilities.types import Image

mcp = FastMCP("probe ✓")


@dataclass
class Weather:
    city: str
    celsius: float


@mcp.tool(annotations={"readOnlyHint": True})
def weather(city: str) -> Weather:
    """Weather for a city (structured output)."""
    return Weather(city=city, celsius=21.5)


@mcp.tool(output_schema={"type": "object", "properties": {"n": {"type": "integer"}},
                         "required": ["n"]})
def liar(path: str) -> ToolResult:
    """Writes ``path``, then returns structured content its outputSchema does not allow."""
    Path(path).write_text("written")
    return ToolResult(content="made it", structured_content={"n": "not an int"})


@mcp.tool(annotations={"readOnlyHint": True})
def open_doc(url: str) -> str:
    """Opens a document by URL or local file path (like server-pdf's read tools)."""
    return f"opened {url}"


@mcp.tool(annotations={"readOnlyHint": True})
def fail(msg: str) -> str:
    """Always fails (an isError result)."""
    raise ValueError(f"failed: {msg}")


@mcp.tool(annotations={"readOnlyHint": True})
def picture() -> Image:
    return Image(data=bytes(range(200)), format="png")


@mcp.tool(annotations={"readOnlyHint": True})
async def slow(seconds: float, ctx: Context) -> str:
    """Reports progress and logs, then sleeps."""
    for i in range(3):
        await ctx.report_progress(i + 1, 3, f"step {i + 1}")
        await ctx.info(f"log {i}")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        marks = os.environ.get("PROBE_MARKS")
        if marks:
            Path(marks, "slow").write_text("cancelled")
        raise
    return "done"


@mcp.tool(annotations={"readOnlyHint": True})
async def ask(ctx: Context) -> str:
    """Asks the client's user (elicitation)."""
    answer = await ctx.elicit("Your name?", str)
    return f"elicit: {answer.action}"


@mcp.tool(annotations={"readOnlyHint": True})
def big(n: int) -> str:
    return "é" * n


@mcp.tool(annotations={"readOnlyHint": True})
def noise(kib: int) -> str:
    """Writes ``kib`` KiB of log lines to stderr, then ``noise end``."""
    line = "x" * 1023 + "\n"
    for _ in range(kib):
        sys.stderr.write(line)
    sys.stderr.write("noise end\n")
    sys.stderr.flush()
    return "ok"


@mcp.tool(name="get.user", annotations={"readOnlyHint": True})
def get_user_dotted() -> str:
    return "dotted"


@mcp.tool(name="get_user", annotations={"readOnlyHint": True})
def get_user_plain() -> str:
    return "underscored"


@mcp.resource("data://blob", mime_type="application/octet-stream")
def blob() -> bytes:
    return bytes(range(256))


@mcp.resource("data://text")
def text() -> str:
    return "plain ✓"


@mcp.resource("users://{uid}/profile")
def profile(uid: str) -> dict:
    """A user's profile."""
    return {"uid": uid, "name": "Zoë"}


@mcp.prompt
def greet(name: str) -> str:
    return f"Hello {name} ✓"


if __name__ == "__main__":
    for i in range(int(os.environ.get("PROBE_STDOUT", "0"))):
        print(f"banner line {i} on stdout", flush=True)
    if len(sys.argv) > 1:
        mcp.run(transport="http", host="127.0.0.1", port=int(sys.argv[1]), show_banner=False)
    else:
        mcp.run(show_banner=False)
