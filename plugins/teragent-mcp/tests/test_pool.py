"""``MCPConnectionPool``: shared across event loops and agents, LRU eviction, health
checks that notice a dead server, and reconnection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


def _server(deps: Any, pool: Any, name: str) -> Any:
    """server-everything over stdio: a node process that starts in a fraction of a
    second (the Python servers take one to two)."""
    from teragent_mcp import MCPToolset

    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    return MCPToolset(name, command=deps.node(), args=[str(deps.EVERYTHING_JS), "stdio"],
                      pool=pool, health_interval=0, resources=False)


def test_one_connection_serves_every_event_loop(deps):
    from teragent_mcp import MCPConnectionPool

    pool = MCPConnectionPool()
    try:
        tool = {t.name: t for t in _server(deps, pool, "t").get_tools()}["t_echo"]
        results = [asyncio.run(tool.execute({"message": "x"})) for _ in range(3)]

        async def concurrent() -> list[Any]:
            return await asyncio.gather(*(tool.execute({"message": str(i)}) for i in range(4)))

        results += asyncio.run(concurrent())
        assert all(r.success for r in results)
        assert pool.stats["opened"] == 1 and len(pool.connections()) == 1
    finally:
        pool.close_sync()


def test_least_recently_used_connection_is_evicted(deps):
    from teragent_mcp import MCPConnectionPool

    pool = MCPConnectionPool(max_connections=2)
    try:
        a, b, c = (_server(deps, pool, n) for n in "abc")
        a.get_tools()
        b.get_tools()
        asyncio.run(a.server_info())  # a is used again: b is now the least recent
        c.get_tools()
        assert sorted(conn.name for conn in pool.connections()) == ["a", "c"]
        assert pool.stats["evicted"] == 1
        b.load_sync()  # reopened on use
        assert pool.stats["opened"] == 4
    finally:
        pool.close_sync()


def test_health_check_notices_a_dead_server_and_calls_reconnect(deps):
    from teragent_mcp import MCPConnectionPool, MCPToolset

    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    proc, port = deps.start_everything("streamableHttp")
    pool = MCPConnectionPool()
    try:
        ts = MCPToolset("ev", url=f"http://127.0.0.1:{port}/mcp", pool=pool,
                        health_interval=0, connect_timeout=10)
        echo = {t.name: t for t in ts.get_tools()}["ev_echo"]
        assert asyncio.run(pool.health_check()) == {"ev": True}
        deps.stop(proc)
        assert asyncio.run(pool.health_check()) == {"ev": False}
        assert pool.connections() == [] and pool.stats["health_failures"] == 1
        down = asyncio.run(echo.execute({"message": "anyone?"}))
        assert not down.success and "'ev'" in down.error  # names the server
        proc, _ = deps.start_everything("streamableHttp", port)
        up = asyncio.run(echo.execute({"message": "back"}))
        assert up.success and up.data == "Echo: back"
    finally:
        pool.close_sync()
        deps.stop(proc)


@pytest.mark.parametrize("script, expect", [
    ("import sys; sys.stderr.write('boom: no database\\n'); sys.exit(3)", "boom: no database"),
])
def test_a_server_that_fails_to_start_is_named_with_its_stderr(deps, script, expect):
    from teragent.errors import UserError
    from teragent_mcp import MCPConnectionPool, MCPToolset

    pool = MCPConnectionPool()
    try:
        ts = MCPToolset("broken", command=deps.PY, args=["-c", script], pool=pool,
                        connect_timeout=20)
        with pytest.raises(UserError) as info:
            ts.get_tools()
        msg = str(info.value)
        assert "'broken'" in msg and expect in msg and "[mcp.servers.broken]" in msg
    finally:
        pool.close_sync()


def test_periodic_health_checks_drop_a_dead_connection_by_themselves(deps):
    import time

    from teragent_mcp import MCPConnectionPool, MCPToolset

    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    proc, port = deps.start_everything("streamableHttp")
    pool = MCPConnectionPool()
    try:
        MCPToolset("ev", url=f"http://127.0.0.1:{port}/mcp", pool=pool, health_interval=1,
                   connect_timeout=10).get_tools()
        assert len(pool.connections()) == 1
        deps.stop(proc)
        deadline = time.monotonic() + 20
        while pool.connections() and time.monotonic() < deadline:
            time.sleep(0.1)  # the pool's own loop runs the checks; nothing to await here
        assert pool.connections() == [] and pool.stats["health_failures"] == 1
    finally:
        pool.close_sync()
        deps.stop(proc)


def test_a_failing_servers_stderr_is_shown_without_its_secrets(deps, monkeypatch):
    from teragent.errors import UserError

    from teragent_mcp import MCPConnectionPool, MCPToolset

    monkeypatch.setenv("TERAGENT_TEST_DB_PASSWORD", "hunter2-correct-horse")
    script = ("import os, sys; sys.stderr.write('cannot log in with ' + "
              "os.environ['DB_PASSWORD'] + '\\n'); sys.exit(1)")
    pool = MCPConnectionPool()
    try:
        ts = MCPToolset("db", command=deps.PY, args=["-c", script], pool=pool,
                        env={"DB_PASSWORD": "${TERAGENT_TEST_DB_PASSWORD}"})
        with pytest.raises(UserError) as info:
            ts.get_tools()
        msg = str(info.value)
        assert "cannot log in with" in msg and "hunter2-correct-horse" not in msg
    finally:
        pool.close_sync()
