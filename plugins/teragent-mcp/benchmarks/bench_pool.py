"""What the pool's design costs and saves, measured in one run on this machine.

- *hop*: a tools/call through the pool (the caller's loop → the pool's loop thread →
  the server and back) against the same call on an SDK ``Client`` held in the caller's
  own loop (no hop): the price of sharing one connection across event loops.
- *reuse*: a call on the pooled connection against opening a new session for the call
  (what an agent without a pool pays each run).

Needs scripts/install-mcp-deps.sh (server-everything). Prints ratios; asserts nothing.
Run: .venv/bin/python plugins/teragent-mcp/benchmarks/bench_pool.py
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from pathlib import Path

EVERYTHING = (Path(__file__).parents[1] / ".deps" / "npm" / "node_modules" /
              "@modelcontextprotocol" / "server-everything" / "dist" / "index.js")
N = 200


async def direct(args: list[str]) -> list[float]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=args[0], args=args[1:])
    async with Client(params, cache=None) as c:
        await c.call_tool("echo", {"message": "warm"})
        out = []
        for _ in range(N):
            t = time.perf_counter()
            await c.call_tool("echo", {"message": "x"})
            out.append(time.perf_counter() - t)
        return out


async def pooled(args: list[str]) -> list[float]:
    from teragent_mcp import MCPConnectionPool, MCPToolset

    pool = MCPConnectionPool()
    ts = MCPToolset("ev", command=args[0], args=args[1:], pool=pool, health_interval=0)
    echo = {t.name: t for t in await ts.load()}["ev_echo"]
    await echo.execute({"message": "warm"})
    out = []
    for _ in range(N):
        t = time.perf_counter()
        await echo.execute({"message": "x"})
        out.append(time.perf_counter() - t)
    await pool.aclose()
    return out


async def fresh(args: list[str], n: int = 5) -> list[float]:
    from mcp import Client, StdioServerParameters

    out = []
    for _ in range(n):
        t = time.perf_counter()
        async with Client(StdioServerParameters(command=args[0], args=args[1:]),
                          cache=None) as c:
            await c.call_tool("echo", {"message": "x"})
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    node = shutil.which("node")
    if node is None or not EVERYTHING.exists():
        print("skipped: needs node and scripts/install-mcp-deps.sh (server-everything)")
        return
    args = [node, str(EVERYTHING), "stdio"]  # the server's stderr banner goes to ours
    d = statistics.median(asyncio.run(direct(args)))
    p = statistics.median(asyncio.run(pooled(args)))
    f = statistics.median(asyncio.run(fresh(args)))
    print(f"tools/call median: direct Client {d * 1e3:.2f} ms, through the pool "
          f"{p * 1e3:.2f} ms (hop ratio {p / d:.2f}x)")
    print(f"new session per call {f * 1e3:.1f} ms: the pooled call is {f / p:.0f}x cheaper")


if __name__ == "__main__":
    main()
