"""``[mcp.servers.NAME]`` validation, secrets in headers, safety from annotations, and
the documented import path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from teragent.core.types import ToolSafety
from teragent.errors import ConfigError, UserError


def _load(tmp_path: Path, text: str) -> dict:
    from teragent.config.loader import load_full_config

    (tmp_path / "agent.toml").write_text(text)
    return load_full_config(tmp_path / "agent.toml")


@pytest.mark.parametrize("text, line, wanted", [
    ('[mcp.servers.time]\ncomand = "x"\n', 2, "did you mean 'command'"),
    ('[mcp.servers.t]\ncommand = "x"\nurl = "http://127.0.0.1:1/mcp"\n', 1, "not both"),
    ('[mcp.servers.t]\nargs = ["a"]\n', 1, "needs command"),
    ('[mcp.servers.t]\nurl = "ftp://x"\n', 2, "http:// or https://"),
    ('[mcp.servers.t]\ncommand = "x"\nheaders = { A = "b" }\n', 1, "HTTP servers only"),
    ('[mcp.servers.t]\ntransport = "sse"\ncommand = "x"\n', 1, "needs url"),
    ('[mcp.servers.t]\ncommand = "x"\ntrust = "maybe"\n', 3, "annotations"),
    ('[mcp.servers."a b"]\ncommand = "x"\n', None, "rename [mcp.servers.a b]"),
    ('[mcp]\nmax_connection = 3\n', 2, "did you mean 'max_connections'"),
])
def test_bad_tables_name_file_line_key_and_fix(tmp_path, text, line, wanted):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    msg = str(info.value)
    assert wanted in msg and "[mcp]" in msg
    if line is not None:
        assert f"agent.toml:{line}:" in msg


def test_a_good_table_loads_with_the_transport_inferred(tmp_path):
    from teragent_mcp.config import MCPConfig

    cfg = MCPConfig(**_load(tmp_path, '[mcp.servers.docs]\nurl = "http://127.0.0.1:9/mcp"\n'
                            '[mcp.servers.time]\ncommand = "mcp-server-time"\n')["mcp"])
    assert cfg.servers["docs"].transport == "streamable_http"
    assert cfg.servers["time"].transport == "stdio"
    assert cfg.servers["time"].prefix_for("time") == "time_"


def test_documented_path_is_the_plugins_config():
    from teragent.config.mcp_config import MCPServerConfig
    from teragent_mcp.config import MCPServerConfig as Same

    assert MCPServerConfig is Same


def test_header_secrets_come_from_the_environment_and_never_show(monkeypatch, pool):
    from teragent_mcp import MCPToolset

    monkeypatch.delenv("TERAGENT_TEST_TOKEN", raising=False)
    ts = MCPToolset("docs", url="http://127.0.0.1:9/mcp", pool=pool, connect_timeout=5,
                    headers={"Authorization": "Bearer ${TERAGENT_TEST_TOKEN}"})
    with pytest.raises(UserError, match=r"\$\{TERAGENT_TEST_TOKEN\}, which is not set"):
        ts.get_tools()
    monkeypatch.setenv("TERAGENT_TEST_TOKEN", "sk-very-secret-value")
    with pytest.raises(UserError) as info:  # port 9 (discard) is closed on loopback
        ts.get_tools()
    assert "'docs'" in str(info.value) and "sk-very-secret-value" not in str(info.value)
    assert "sk-very-secret-value" not in repr(ts.config)  # the config keeps the reference


def ann(**hints):
    return SimpleNamespace(**{k: hints.get(k) for k in (
        "read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")})


@pytest.mark.parametrize("annotations, trust, override, expected", [
    (None, "annotations", None, ToolSafety.DESTRUCTIVE),  # nothing claimed: cautious
    (ann(), "annotations", None, ToolSafety.DESTRUCTIVE),  # destructiveHint defaults true
    (ann(read_only_hint=True), "annotations", None, ToolSafety.READ_ONLY),
    (ann(read_only_hint=False, destructive_hint=False), "annotations", None,
     ToolSafety.SAFE_WRITE),
    (ann(read_only_hint=False, destructive_hint=True), "annotations", None,
     ToolSafety.DESTRUCTIVE),
    (ann(read_only_hint=True), "none", None, ToolSafety.DESTRUCTIVE),  # claims ignored
    (ann(read_only_hint=True), "annotations", "high_risk", ToolSafety.HIGH_RISK),
    (None, "none", "read_only", ToolSafety.READ_ONLY),
])
def test_safety_from_annotations(annotations, trust, override, expected):
    from teragent_mcp.toolset import safety_from_annotations

    assert safety_from_annotations(annotations, trust=trust, override=override) == expected


def test_result_text_renders_every_block_kind_and_caps():
    from teragent_mcp.toolset import result_text

    blocks = [SimpleNamespace(type="text", text="hello"),
              SimpleNamespace(type="image", data="aGVsbG8=", mime_type="image/png"),
              SimpleNamespace(type="resource_link", uri="demo://x", name="x"),
              SimpleNamespace(type="resource", resource=SimpleNamespace(uri="demo://y",
                                                                        text="inside"))]
    text, cut = result_text(SimpleNamespace(content=blocks, structured_content=None), 1000)
    assert not cut and text.splitlines() == [
        "hello", "[image image/png, 5 bytes]", "[resource link demo://x (x)]",
        "[resource demo://y]", "inside"]
    text, cut = result_text(SimpleNamespace(content=[], structured_content={"n": 1}), 1000)
    assert text == '{"n": 1}'
    text, cut = result_text(SimpleNamespace(content=[SimpleNamespace(type="text",
                                                                     text="z" * 500)]), 100)
    assert cut and text.startswith("z" * 100) and "500 characters" in text


def test_tool_names_are_made_valid_and_collisions_refused(deps):
    from teragent_mcp import MCPConnectionPool
    from teragent_mcp.toolset import MCPServers, tool_name

    assert tool_name("my.srv_", "do/thing x") == "my_srv_do_thing_x"
    assert len(tool_name("p_", "n" * 100)) == 64
    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    server = {"command": deps.node(), "args": [str(deps.EVERYTHING_JS), "stdio"],
              "tool_prefix": "", "health_interval": 0}
    with pytest.raises(UserError, match="set tool_prefix in \\[mcp.servers.b\\]"):
        MCPServers({"mcp": {"servers": {"a": server, "b": {**server, "cwd": "/"}}}})
    for name in ("a", "b"):
        asyncio.run(MCPConnectionPool.shared().close_server(name))


def test_a_server_cannot_take_an_installed_tools_name(isolated, deps):
    """``teragent mcp serve`` as the server: its ``read_file`` without a prefix would
    replace the installed ``read_file`` of every agent."""
    import sys

    from teragent_mcp import MCPConnectionPool
    from teragent_mcp.toolset import MCPServers

    pytest.importorskip("teragent_tools")
    served = {"command": sys.executable, "health_interval": 0, "connect_timeout": 60,
              "args": ["-c", "import sys; from teragent.cli import main; sys.exit(main())",
                       "mcp", "serve", "--tools", "read_file"]}
    with pytest.raises(UserError, match="'read_file', the name of an installed tool"):
        MCPServers({"mcp": {"servers": {"self": {**served, "tool_prefix": ""}}}},
                   workspace=str(isolated))
    names = [t.name for t in MCPServers({"mcp": {"servers": {"self": served}}},
                                        workspace=str(isolated)).get_tools()]
    assert names == ["self_read_file"]  # the default prefix keeps them apart
    asyncio.run(MCPConnectionPool.shared().close_server("self"))
