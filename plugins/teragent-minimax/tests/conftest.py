"""Fixtures: the fake MiniMax server in-process and on a loopback port."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from teragent.testing.contract import AdapterHarness
from teragent.testing.fake_minimax import FakeMiniMaxServer
from teragent.testing.fake_openai import serve_in_thread
from teragent_minimax.adapter import MiniMaxNativeAdapter


def anthropic_tool_results(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(b["tool_use_id"]), str(b["content"]))
            for m in body.get("messages") or [] if isinstance(m.get("content"), list)
            for b in m["content"] if b.get("type") == "tool_result"]


def harness_for(server: FakeMiniMaxServer, base_url: str, transport: Any, *,
                loopback: bool, interface: str = "openai") -> AdapterHarness:
    def make_adapter(api_key: str | None = None) -> MiniMaxNativeAdapter:
        chosen = transport() if callable(transport) else transport
        return MiniMaxNativeAdapter(base_url=base_url, api_key=api_key, transport=chosen,
                                    timeout=10.0, interface=interface)

    kwargs: dict[str, Any] = {}
    if interface == "anthropic":
        kwargs = {"tool_results": anthropic_tool_results, "auth_header": "x-api-key"}
    return AdapterHarness(
        make_adapter=make_adapter, script=server.script,
        requests=lambda: [r.body for r in server.requests],
        headers=lambda: [r.headers for r in server.requests],
        supports_hold_open=loopback,
        wait_for_disconnect=lambda t: server.wait_for_disconnect(t, interface=interface),
        **kwargs)


@pytest.fixture
def server() -> FakeMiniMaxServer:
    return FakeMiniMaxServer()


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[tuple[FakeMiniMaxServer, str]]:
    server = FakeMiniMaxServer()
    with serve_in_thread(server, path="/v1") as base_url:
        yield server, base_url


@pytest.fixture
def loopback(loopback_server: tuple[FakeMiniMaxServer, str]
             ) -> Iterator[tuple[FakeMiniMaxServer, str]]:
    server, base_url = loopback_server
    server.reset()
    yield server, base_url
    server.reset()


@pytest.fixture
def make_harness() -> Any:
    """``make_harness(server, base_url, transport, loopback=..., ...)`` → a harness."""
    return harness_for
