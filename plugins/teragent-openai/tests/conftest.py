"""Shared fixtures: the fake OpenAI server in-process and on a loopback port."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from teragent.testing.contract import AdapterHarness
from teragent.testing.fake_openai import FakeOpenAIServer, serve_in_thread
from teragent_openai.adapter import OpenAICompatibleAdapter


def harness_for(server: FakeOpenAIServer, base_url: str, transport: Any,
                *, loopback: bool) -> AdapterHarness:
    def make_adapter(api_key: str | None = None) -> OpenAICompatibleAdapter:
        chosen = transport() if callable(transport) else transport
        return OpenAICompatibleAdapter(base_url=base_url, api_key=api_key,
                                       transport=chosen, api_key_env="OPENAI_API_KEY",
                                       timeout=10.0)

    return AdapterHarness(
        make_adapter=make_adapter,
        script=server.script,
        requests=lambda: [r.body for r in server.requests],
        headers=lambda: [r.headers for r in server.requests],
        supports_hold_open=loopback,
        wait_for_disconnect=server.wait_for_disconnect,
    )


@pytest.fixture
def server() -> FakeOpenAIServer:
    return FakeOpenAIServer()


@pytest.fixture
def in_process(server: FakeOpenAIServer) -> AdapterHarness:
    return harness_for(server, "http://fake.test/v1",
                       lambda: httpx.ASGITransport(app=server), loopback=False)


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[tuple[FakeOpenAIServer, str]]:
    server = FakeOpenAIServer()
    with serve_in_thread(server) as base_url:
        yield server, base_url


@pytest.fixture
def loopback(loopback_server: tuple[FakeOpenAIServer, str]) -> Iterator[tuple[FakeOpenAIServer, str]]:
    server, base_url = loopback_server
    server.reset()
    yield server, base_url
    server.reset()
