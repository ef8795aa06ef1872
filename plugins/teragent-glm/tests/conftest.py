"""Fixtures: the fake GLM server in-process and on a loopback port."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from teragent.testing.contract import AdapterHarness
from teragent.testing.fake_glm import FakeGLMServer
from teragent.testing.fake_openai import serve_in_thread
from teragent_glm.adapter import GLMNativeAdapter


def harness_for(server: FakeGLMServer, base_url: str, transport: Any,
                *, loopback: bool) -> AdapterHarness:
    def make_adapter(api_key: str | None = None) -> GLMNativeAdapter:
        chosen = transport() if callable(transport) else transport
        return GLMNativeAdapter(base_url=base_url, api_key=api_key, transport=chosen,
                                timeout=10.0)

    return AdapterHarness(
        make_adapter=make_adapter, script=server.script,
        requests=lambda: [r.body for r in server.requests],
        headers=lambda: [r.headers for r in server.requests],
        supports_hold_open=loopback, wait_for_disconnect=server.wait_for_disconnect)


@pytest.fixture
def server() -> FakeGLMServer:
    return FakeGLMServer()


@pytest.fixture
def in_process(server: FakeGLMServer) -> AdapterHarness:
    return harness_for(server, "http://fake.test/api/paas/v4",
                       lambda: httpx.ASGITransport(app=server), loopback=False)


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[tuple[FakeGLMServer, str]]:
    server = FakeGLMServer()
    with serve_in_thread(server, path="/api/paas/v4") as base_url:
        yield server, base_url


@pytest.fixture
def loopback(loopback_server: tuple[FakeGLMServer, str]) -> Iterator[tuple[FakeGLMServer, str]]:
    server, base_url = loopback_server
    server.reset()
    yield server, base_url
    server.reset()


@pytest.fixture
def make_harness() -> Any:
    """``make_harness(server, base_url, transport, loopback=..., ...)`` → a harness."""
    return harness_for
