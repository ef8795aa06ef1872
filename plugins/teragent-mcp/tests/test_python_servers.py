"""The reference MCP servers from PyPI over stdio: ``mcp-server-time`` and
``mcp-server-git`` (2.x SDK, from requirements-dev.txt) and ``mcp-server-sqlite`` (1.x
SDK, in its own venv from scripts/install-mcp-deps.sh: the 2.x client talks to a server
that only knows the initialize handshake)."""

from __future__ import annotations

import asyncio
from typing import Any

from teragent.core.types import ToolSafety


def _tools(ts: Any) -> dict[str, Any]:
    return {t.name: t for t in ts.get_tools()}


def test_time_server(pool, deps):
    from teragent_mcp import MCPToolset

    deps.python_server("mcp_server_time")
    ts = MCPToolset("time", command=deps.PY, pool=pool, health_interval=0,
                    args=["-m", "mcp_server_time", "--local-timezone", "UTC"])
    tools = _tools(ts)
    assert set(tools) == {"time_get_current_time", "time_convert_time"}
    assert all(t.safety == ToolSafety.READ_ONLY for t in tools.values())

    async def main() -> Any:
        now = await tools["time_get_current_time"].execute({"timezone": "Asia/Tokyo"})
        conv = await tools["time_convert_time"].execute(
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"})
        bad = await tools["time_get_current_time"].execute({"timezone": "Mars/Olympus"})
        return now, conv, bad, await ts.server_info()

    now, conv, bad, info = asyncio.run(main())
    assert now.success and '"timezone": "Asia/Tokyo"' in now.data
    assert conv.success and "Europe/Paris" in conv.data
    assert not bad.success and "Mars/Olympus" in bad.error
    assert info["protocol_version"] == "2026-07-28"  # a 2.x server: the modern protocol


def test_git_server(pool, deps, repo):
    from teragent_mcp import MCPToolset

    deps.python_server("mcp_server_git")
    ts = MCPToolset("git", command=deps.PY, pool=pool, health_interval=0,
                    args=["-m", "mcp_server_git", "--repository", str(repo)])
    tools = _tools(ts)
    assert tools["git_git_status"].safety == ToolSafety.READ_ONLY
    assert tools["git_git_reset"].safety == ToolSafety.DESTRUCTIVE  # destructiveHint
    assert tools["git_git_commit"].safety == ToolSafety.SAFE_WRITE
    # repo_path is declared a path (read for read-only tools, write otherwise)
    assert tools["git_git_status"].path_params == {"repo_path": "read"}
    assert tools["git_git_reset"].path_params == {"repo_path": "write"}
    (repo / "a.txt").write_text("two\n")

    async def main() -> Any:
        status = await tools["git_git_status"].execute({"repo_path": str(repo)})
        log = await tools["git_git_log"].execute({"repo_path": str(repo)})
        return status, log

    status, log = asyncio.run(main())
    assert status.success and "a.txt" in status.data
    assert log.success and "first" in log.data


def test_sqlite_server_unannotated_tools_are_destructive_unless_configured(pool, deps,
                                                                           tmp_path):
    from teragent_mcp import MCPToolset

    server = deps.need(deps.SQLITE_SERVER, "mcp-server-sqlite")
    db = tmp_path / "t.db"
    ts = MCPToolset("db", command=str(server), args=["--db-path", str(db)], pool=pool,
                    health_interval=0, tool_safety={"read_query": "read_only"})
    tools = _tools(ts)
    # no annotations: the cautious level; tool_safety lowers one by name
    assert tools["db_write_query"].safety == ToolSafety.DESTRUCTIVE
    assert tools["db_read_query"].safety == ToolSafety.READ_ONLY

    async def main() -> Any:
        await tools["db_create_table"].execute({"query": "CREATE TABLE t (x INTEGER)"})
        ins = await tools["db_write_query"].execute({"query": "INSERT INTO t VALUES (7)"})
        sel = await tools["db_read_query"].execute({"query": "SELECT x FROM t"})
        prompts = await ts.list_prompts()
        return ins, sel, prompts, await ts.server_info()

    ins, sel, prompts, info = asyncio.run(main())
    assert ins.success and sel.success and "7" in sel.data
    assert [p.name for p in prompts] == ["mcp-demo"]
    assert info["protocol_version"] != "2026-07-28"  # the 1.x server: handshake era
