"""The kernel's adapter contract suite, in-process and against the loopback fake server."""

from __future__ import annotations

from typing import Any

import pytest

from teragent.testing.contract import AdapterContract, AdapterHarness
from teragent.testing.fake_anthropic import FakeAnthropicServer


class TestInProcess(AdapterContract):
    @pytest.fixture
    def harness(self, in_process: AdapterHarness) -> AdapterHarness:
        return in_process


class TestLoopback(AdapterContract):
    """A real uvicorn server on 127.0.0.1 (httpx's own pool)."""

    @pytest.fixture
    def harness(self, loopback: tuple[FakeAnthropicServer, str],
                make_harness: Any) -> AdapterHarness:
        server, base_url = loopback
        return make_harness(server, base_url, "httpx", loopback=True)


class TestLoopbackAiohttp(AdapterContract):
    """The same, through the default aiohttp transport."""

    @pytest.fixture
    def harness(self, loopback: tuple[FakeAnthropicServer, str],
                make_harness: Any) -> AdapterHarness:
        pytest.importorskip("httpx_aiohttp")
        server, base_url = loopback
        return make_harness(server, base_url, "aiohttp", loopback=True)
