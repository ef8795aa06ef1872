"""``teragent mcp serve`` as a subprocess, used by TerAgent's own MCP client over stdio
and streamable HTTP: the installed tools are served through the guard chain an agent
gets (protected paths, the permission manager with the run's flags) and every call is
in the workspace's audit log."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from teragent.audit import read_audit_log

pytest.importorskip("teragent_tools")

CLI = [sys.executable, "-c", "import sys; from teragent.cli import main; sys.exit(main())"]


@pytest.fixture
def ws(isolated: Path) -> Path:
    w = isolated / "ws"
    w.mkdir()
    (w / "notes.txt").write_text("the plan is in notes\n")
    (w / ".env").write_text("API_TOKEN=sk-not-for-clients\n")
    return w


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def test_stdio_serves_guarded_tools(ws, pool):
    from teragent_mcp import MCPToolset

    def served(*flags: str) -> MCPToolset:
        return MCPToolset(f"serve{len(flags)}", pool=pool, command=CLI[0], cwd=str(ws),
                          args=[*CLI[1:], "mcp", "serve", "--workspace", str(ws), *flags],
                          health_interval=0, tool_prefix="", connect_timeout=60)

    plain = served()
    tools = {t.name: t for t in plain.get_tools()}
    assert "read_file" in tools and tools["read_file"].safety.value == "read_only"
    assert "write_file" not in tools  # writes are not allowed: not offered
    writer = served("--allow-writes")
    assert "write_file" in {t.name for t in writer.get_tools()}

    async def main() -> Any:
        ok = await plain.call("read_file", {"path": "notes.txt"})
        secret = await plain.call("read_file", {"path": ".env"})
        write_refused = await plain.call("write_file", {"path": "x.txt", "content": "x"})
        wrote = await writer.call("write_file", {"path": "made.txt", "content": "hi"})
        return ok, secret, write_refused, wrote

    ok, secret, write_refused, wrote = asyncio.run(main())
    assert not ok.is_error and "the plan is in notes" in _text(ok)
    assert secret.is_error and "sk-not-for-clients" not in _text(secret)
    assert "denied" in _text(secret).lower()
    assert write_refused.is_error and not (ws / "x.txt").exists()
    assert not wrote.is_error and (ws / "made.txt").read_text() == "hi"
    audit = read_audit_log(ws / ".teragent" / "audit.jsonl")
    assert ("read_file", "denied") in [(r["tool_name"], r["outcome"]) for r in audit]
    assert ("read_file", "executed") in [(r["tool_name"], r["outcome"]) for r in audit]


def test_streamable_http_serves_guarded_tools(ws, pool):
    from teragent_mcp import MCPToolset

    proc = subprocess.Popen([*CLI, "mcp", "serve", "--transport", "http", "--port", "0",
                             "--workspace", str(ws)], cwd=ws, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=os.environ.copy())
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "teragent mcp: serving N tools on http://..."
        m = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line)
        assert m, line
        ts = MCPToolset("http", url=m.group(1), pool=pool, health_interval=0,
                        tool_prefix="")
        assert "grep" in {t.name for t in ts.get_tools()}

        async def main() -> Any:
            ok = await ts.call("read_file", {"path": "notes.txt"})
            secret = await ts.call("read_file", {"path": ".env"})
            return ok, secret

        ok, secret = asyncio.run(main())
        assert "the plan is in notes" in _text(ok) and not ok.is_error
        assert secret.is_error and "sk-not-for-clients" not in _text(secret)
    finally:
        asyncio.run(pool.close_server("http"))
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_mcp_tools_lists_the_configured_servers_tools(isolated, deps):
    import json as _json

    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    (isolated / "agent.toml").write_text(
        f'[mcp.servers.ev]\ncommand = {_json.dumps(deps.node())}\n'
        f'args = [{_json.dumps(str(deps.EVERYTHING_JS))}, "stdio"]\n')
    run = subprocess.run([*CLI, "mcp", "tools", "--json"], cwd=isolated, text=True,
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = {r["tool"]: r for r in _json.loads(run.stdout)}
    assert rows["ev_echo"]["safety"] == "read_only"
    assert rows["ev_toggle-simulated-logging"]["safety"] == "safe_write"
    bare = subprocess.run([*CLI, "mcp"], cwd=isolated, text=True, capture_output=True,
                          timeout=60)
    assert bare.returncode == 2 and "teragent mcp serve" in bare.stderr


def test_http_on_a_non_loopback_address_needs_allow_remote(isolated, capsys):
    from teragent.cli import main

    assert main(["mcp", "serve", "--transport", "http", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-remote" in err
