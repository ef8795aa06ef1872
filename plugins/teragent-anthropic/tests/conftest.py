"""Fixtures: the fake Anthropic server in-process and on a loopback port."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from teragent.testing.contract import AdapterHarness
from teragent.testing.fake_anthropic import FakeAnthropicServer
from teragent.testing.fake_openai import serve_in_thread
from teragent_anthropic.adapter import AnthropicNativeAdapter


def anthropic_tool_results(body: dict[str, Any]) -> list[tuple[str, str]]:
    """``(tool_use_id, content)`` of every tool_result block in a Messages request."""
    out = []
    for msg in body.get("messages") or []:
        if msg.get("role") != "user" or not isinstance(msg.get("content"), list):
            continue
        for block in msg["content"]:
            if block.get("type") == "tool_result":
                out.append((str(block["tool_use_id"]), str(block["content"])))
    return out


def harness_for(server: FakeAnthropicServer, base_url: str, transport: Any,
                *, loopback: bool) -> AdapterHarness:
    def make_adapter(api_key: str | None = None) -> AnthropicNativeAdapter:
        chosen = transport() if callable(transport) else transport
        return AnthropicNativeAdapter(base_url=base_url, api_key=api_key, transport=chosen,
                                      timeout=10.0)

    return AdapterHarness(
        make_adapter=make_adapter, script=server.script,
        requests=lambda: [r.body for r in server.requests],
        headers=lambda: [r.headers for r in server.requests],
        tool_results=anthropic_tool_results, auth_header="x-api-key",
        supports_hold_open=loopback, wait_for_disconnect=server.wait_for_disconnect)


@pytest.fixture
def server() -> FakeAnthropicServer:
    return FakeAnthropicServer()


@pytest.fixture
def in_process(server: FakeAnthropicServer) -> AdapterHarness:
    return harness_for(server, "http://fake.test/v1",
                       lambda: httpx.ASGITransport(app=server), loopback=False)


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[tuple[FakeAnthropicServer, str]]:
    server = FakeAnthropicServer()
    with serve_in_thread(server) as base_url:
        yield server, base_url


@pytest.fixture
def loopback(loopback_server: tuple[FakeAnthropicServer, str]
             ) -> Iterator[tuple[FakeAnthropicServer, str]]:
    server, base_url = loopback_server
    server.reset()
    yield server, base_url
    server.reset()


@pytest.fixture
def make_harness() -> Any:
    """``make_harness(server, base_url, transport, loopback=..., ...)`` → a harness."""
    return harness_for
