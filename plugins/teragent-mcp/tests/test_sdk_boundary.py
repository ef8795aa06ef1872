"""The SDK range this plugin pins (``mcp>=2.3,<3``) and the boundary it was checked at.

Checked on 2026-12-06 with mcp 2.3.0: the 2.x ``Client`` (protocol 2026-07-28, falling
back to the initialize handshake) talks to 2.x servers (mcp-server-time/-git, which
themselves require ``mcp>=2.3,<3``), to 1.x servers (mcp-server-sqlite 2025.4.25 on
mcp 1.x, in its own venv) and to the TypeScript SDK's server-everything. Below 2.3
the reference servers do not install beside us; at 3.0 the API may change again (the
1.x → 2.x step removed the decorator API mcp-server-sqlite uses: it crashes under 2.x
with ``'Server' object has no attribute 'list_resources'``)."""

from __future__ import annotations

import inspect
import sys
from importlib.metadata import version
from pathlib import Path

from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _pin() -> SpecifierSet:
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    dep = next(d for d in meta["project"]["dependencies"] if d.startswith("mcp"))
    return SpecifierSet(dep[len("mcp"):])


def test_the_installed_sdk_is_in_the_pinned_range():
    assert _pin() == SpecifierSet(">=2.3,<3")
    assert version("mcp") in _pin()


def test_the_pin_excludes_the_1x_api_and_the_next_major():
    pin = _pin()
    assert "1.30.0" not in pin and "2.2.0" not in pin and "3.0.0" not in pin
    assert "2.3.0" in pin and "2.99" in pin


def test_the_client_api_this_plugin_uses_exists():
    from mcp import Client
    from mcp.client.sse import sse_client
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.lowlevel import Server

    params = inspect.signature(Client).parameters
    assert {"cache", "read_timeout_seconds", "client_info"} <= set(params)
    assert "errlog" in inspect.signature(stdio_client).parameters
    assert "headers" in inspect.signature(sse_client).parameters
    assert "http_client" in inspect.signature(streamable_http_client).parameters
    server_params = inspect.signature(Server).parameters
    assert {"on_list_tools", "on_call_tool"} <= set(server_params)
    assert not hasattr(Server, "list_resources")  # the 1.x decorator API is gone
