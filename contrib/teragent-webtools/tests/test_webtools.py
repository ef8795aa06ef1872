"""The web tools against a loopback server: fetching, size caps, redirects, timeouts, and
the refusal of private and loopback addresses (checked before any connection)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from teragent.errors import ConfigError
from teragent.plugins import PluginHost
from teragent.tools import BaseTool

import teragent_webtools
from teragent_webtools import fetch as fetch_module
from teragent_webtools.fetch import WebSettings, configure, settings
from teragent_webtools.tools import FetchUrlTool, HttpGetTool, fetch_url, html_to_text, http_get

LOCAL = WebSettings(allowed_hosts=("127.0.0.1",), transport="httpx", timeout=5)


def run(tool: BaseTool, **params: Any) -> Any:
    assert tool.validate(params) is None, tool.validate(params)
    return asyncio.run(tool.execute(params))


# --- fetching from an allowed loopback host ---------------------------------------------


@pytest.mark.parametrize("transport", ["httpx", None])  # None: the kernel's default
def test_http_get_returns_status_headers_and_body(server: Any, transport: Any) -> None:
    tool = HttpGetTool(WebSettings(allowed_hosts=("127.0.0.1",), transport=transport))
    result = run(tool, url=f"{server.base}/json", headers={"Accept": "application/json"})
    assert result.success, result.error
    assert result.data["status"] == 200
    assert result.data["headers"]["content-type"] == "application/json"
    body = json.loads(result.data["body"])
    assert body == {"ok": True, "ua": "teragent-webtools/0.1", "accept": "application/json"}
    assert result.data["truncated"] is False


def test_http_get_reports_http_errors(server: Any) -> None:
    result = run(HttpGetTool(LOCAL), url=f"{server.base}/missing")
    assert not result.success
    assert result.error == "HTTP 404"
    assert result.data["body"] == "not here"


def test_fetch_url_returns_readable_text(server: Any) -> None:
    result = run(FetchUrlTool(LOCAL), url=f"{server.base}/page")
    assert result.success, result.error
    assert result.data.startswith("# Loopback page\n\n")
    assert "Hello" in result.data and "First & second." in result.data
    assert "one\n" in result.data and "two" in result.data
    assert "alert" not in result.data and "color: red" not in result.data


def test_body_is_capped_at_max_bytes(server: Any) -> None:
    conf = WebSettings(allowed_hosts=("127.0.0.1",), transport="httpx", max_bytes=10_000)
    result = run(HttpGetTool(conf), url=f"{server.base}/big", max_chars=50_000)
    assert result.data["truncated"] is True
    assert len(result.data["body"]) == 10_000
    short = run(FetchUrlTool(LOCAL), url=f"{server.base}/page", max_chars=10)
    assert short.data.endswith("[truncated]") and short.metadata["truncated"]


def test_redirects_are_followed_and_reported(server: Any) -> None:
    result = run(HttpGetTool(LOCAL), url=f"{server.base}/redirect")
    assert result.success
    assert result.data["url"] == f"{server.base}/page"
    assert result.data["redirects"] == [f"{server.base}/page"]


def test_redirect_loops_stop(server: Any) -> None:
    conf = WebSettings(allowed_hosts=("127.0.0.1",), transport="httpx", max_redirects=3)
    result = run(HttpGetTool(conf), url=f"{server.base}/loop")
    assert not result.success and "more than 3 redirects" in result.error
    assert server.hits.count("/loop") == 4


def test_a_redirect_to_a_private_host_is_refused(server: Any) -> None:
    # 127.0.0.1 is allowed; the redirect names localhost, which is not.
    result = run(HttpGetTool(LOCAL), url=f"{server.base}/to-localhost")
    assert not result.success and result.error.startswith("refused: localhost resolves")
    assert server.hits == ["/to-localhost"]  # the target was never requested


def test_timeout(server: Any) -> None:
    conf = WebSettings(allowed_hosts=("127.0.0.1",), transport="httpx", timeout=0.3)
    result = run(HttpGetTool(conf), url=f"{server.base}/slow")
    assert not result.success
    assert "timed out" in result.error or "Timeout" in result.error


def test_connection_errors_are_tool_errors() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run(HttpGetTool(LOCAL), url=f"http://127.0.0.1:{port}/")
    assert not result.success and result.error.startswith("request failed: ")


# --- refusals: checked before any connection -------------------------------------------


def test_loopback_is_refused_by_default_without_connecting(server: Any) -> None:
    tool = HttpGetTool(WebSettings(transport="httpx"))
    result = run(tool, url=f"{server.base}/json")
    assert not result.success and result.metadata == {"refused": True}
    assert "127.0.0.1" in result.error and "allowed_hosts" in result.error
    assert server.hits == []


@pytest.mark.parametrize("url", [
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://10.1.2.3/",
    "http://192.168.0.1/admin",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00::1]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
])
def test_private_addresses_are_refused(url: str) -> None:
    result = run(HttpGetTool(WebSettings(transport="httpx")), url=url)
    assert not result.success and result.error.startswith("refused: ")
    assert "private or loopback" in result.error


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/x", "only http and https"),
    ("http://user:secret@example.com/", "credentials"),
    ("http:///nohost", "no host"),
])
def test_other_urls_are_refused(url: str, why: str) -> None:
    result = run(FetchUrlTool(WebSettings(transport="httpx")), url=url)
    assert not result.success and why in result.error


def test_allow_private_allows_every_address(server: Any) -> None:
    result = run(HttpGetTool(WebSettings(allow_private=True, transport="httpx")),
                 url=f"{server.base}/json")
    assert result.success


# --- settings, declaration and registration ---------------------------------------------


def test_configure_from_agent_toml_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "_settings", WebSettings())
    teragent_webtools.teragent_configure(
        config={"plugins": {"webtools": {"allowed_hosts": ["127.0.0.1"], "timeout": 3}}})
    assert settings().allowed_hosts == ("127.0.0.1",) and settings().timeout == 3
    with pytest.raises(ConfigError, match="unknown key.*alow_private.*allow_private"):
        configure({"alow_private": True})


def test_tools_declare_their_url_parameter() -> None:
    fx = http_get.effects({"url": "https://example.com/a", "headers": {"Accept": "x"},
                           "max_chars": 5})
    assert fx.urls == ["https://example.com/a"]
    assert fx.paths == [] and fx.undeclared == []
    fx = fetch_url.effects({"url": "https://example.com/b"})
    assert fx.urls == ["https://example.com/b"] and fx.undeclared == []
    assert http_get.is_read_only and fetch_url.concurrency_safe


def test_schema_rejects_unknown_arguments() -> None:
    assert http_get.validate({"url": "https://x", "body": "y"})
    assert fetch_url.validate({}) is not None


def test_plugin_registers_both_tools() -> None:
    host = PluginHost(load_entrypoints=False)
    host.add_plugin(teragent_webtools, name="webtools", distribution="teragent-webtools")
    record = next(r for r in host.list_plugins() if r.name == "webtools")
    assert record.status == "loaded"
    tools = host.registry("tools")
    assert tools.get("http_get") is http_get
    assert tools.get("fetch_url") is fetch_url
    assert tools.entry("fetch_url").plugin == "webtools"


def test_html_to_text() -> None:
    title, text = html_to_text("<html><head><title> A  b </title></head>"
                               "<body><p>x</p><p>y</p></body></html>")
    assert title == "A b"
    assert text == "x\n\ny"
