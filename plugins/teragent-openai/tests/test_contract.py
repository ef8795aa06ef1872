"""The adapter contract suite from teragent.testing, in-process and on loopback."""

from __future__ import annotations

import pytest

from teragent.testing.contract import AdapterContract, AdapterHarness
from teragent.testing.fake_openai import FakeOpenAIServer

from .conftest import harness_for


class TestInProcess(AdapterContract):
    """Through httpx.ASGITransport: no sockets at all."""

    @pytest.fixture
    def harness(self, in_process: AdapterHarness) -> AdapterHarness:
        return in_process


class TestLoopbackHttpx(AdapterContract):
    """A real uvicorn server on 127.0.0.1, httpx's own connection pool."""

    @pytest.fixture
    def harness(self, loopback: tuple[FakeOpenAIServer, str]) -> AdapterHarness:
        server, base_url = loopback
        return harness_for(server, base_url, "httpx", loopback=True)


class TestLoopbackAiohttp(AdapterContract):
    """A real uvicorn server on 127.0.0.1, aiohttp under httpx's API (the default)."""

    @pytest.fixture
    def harness(self, loopback: tuple[FakeOpenAIServer, str]) -> AdapterHarness:
        pytest.importorskip("httpx_aiohttp")
        server, base_url = loopback
        return harness_for(server, base_url, "aiohttp", loopback=True)
