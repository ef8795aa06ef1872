"""``auth = "NAME"``: an HTTP MCP server behind a bearer token, the token coming from a
teragent-auth ``[auth.NAME]`` credential (its variable), never from agent.toml and never
in an error. The server is TerAgent's own (``build_server``) behind an ASGI check of the
Authorization header, served by uvicorn in a thread on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teragent.errors import UserError

pytest.importorskip("teragent_auth")
pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_testing")

TOKEN = "mcp-test-token-4f1c2e9a"


def _guarded_app(server: Any, seen: list[str]) -> Any:
    """The server's ASGI app behind a token check. serve_in_thread runs uvicorn without
    lifespan, so the SDK's session manager is started here, in the server's loop, on the
    first request (asyncio.run cancels it when the server stops)."""
    app = server.http_app()
    running: list[asyncio.Event] = []

    async def manager(ready: asyncio.Event) -> None:
        async with server.server.session_manager.run():
            ready.set()
            await asyncio.Event().wait()

    async def check(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not running:
            running.append(asyncio.Event())
            asyncio.ensure_future(manager(running[0]))
        await running[0].wait()
        if scope["type"] == "http":
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            seen.append(auth)
            if auth != f"Bearer {TOKEN}":
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await app(scope, receive, send)

    return check


@pytest.fixture
def served(isolated: Path) -> Any:
    from teragent_testing.fake_openai import serve_in_thread

    from teragent_mcp.server import build_server

    ws = isolated / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("behind a token\n")
    seen: list[str] = []
    server = build_server({}, workspace=ws, tool_names=["read_file"])
    with serve_in_thread(_guarded_app(server, seen), path="/mcp") as url:
        yield url, seen


def _config(url: str) -> dict[str, Any]:
    return {"auth": {"docs": {"type": "bearer", "token_env": "MCP_TEST_TOKEN"}},
            "mcp": {"servers": {"docs": {"url": url, "auth": "docs", "health_interval": 0,
                                         "connect_timeout": 15}}}}


def test_the_credentials_header_opens_the_server(served, monkeypatch):
    from teragent_mcp import MCPConnectionPool
    from teragent_mcp.toolset import MCPServers

    url, seen = served
    monkeypatch.setenv("MCP_TEST_TOKEN", TOKEN)
    pack = MCPServers(_config(url))
    tool = {t.name: t for t in pack.get_tools()}["docs_read_file"]
    out = asyncio.run(tool.execute({"path": "notes.txt"}))
    assert out.success and "behind a token" in out.data
    assert seen and all(h == f"Bearer {TOKEN}" for h in seen)
    asyncio.run(MCPConnectionPool.shared().close_server("docs"))


def test_a_wrong_token_is_refused_without_showing_it(served, monkeypatch):
    from teragent_mcp.toolset import MCPServers

    url, seen = served
    monkeypatch.setenv("MCP_TEST_TOKEN", "wrong-token-77e1")
    with pytest.raises(UserError) as info:
        MCPServers(_config(url)).get_tools()
    msg = str(info.value)
    assert "'docs'" in msg and "wrong-token-77e1" not in msg and TOKEN not in msg
    assert seen == ["Bearer wrong-token-77e1"] * len(seen) and seen


def test_auth_names_a_credential_that_exists(isolated):
    from teragent_mcp.toolset import MCPServers

    cfg = _config("http://127.0.0.1:9/mcp")
    cfg["mcp"]["servers"]["docs"]["auth"] = "dcos"
    with pytest.raises(UserError, match="docs"):  # did you mean 'docs'?
        MCPServers(cfg)
