"""The kernel's adapter contract suite for ``minimax_native``, on both interfaces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from teragent.testing.contract import AdapterContract, AdapterHarness
from teragent.testing.fake_minimax import FakeMiniMaxServer


class TestOpenAIInProcess(AdapterContract):
    @pytest.fixture
    def harness(self, server: FakeMiniMaxServer, make_harness: Any) -> AdapterHarness:
        return make_harness(server, "http://fake.test/v1",
                           lambda: httpx.ASGITransport(app=server), loopback=False)


class TestOpenAILoopback(AdapterContract):
    @pytest.fixture
    def harness(self, loopback: tuple[FakeMiniMaxServer, str],
                make_harness: Any) -> AdapterHarness:
        server, base_url = loopback
        return make_harness(server, base_url, "httpx", loopback=True)


class TestAnthropicInterfaceLoopback(AdapterContract):
    @pytest.fixture
    def harness(self, loopback: tuple[FakeMiniMaxServer, str],
                make_harness: Any) -> AdapterHarness:
        server, base_url = loopback
        return make_harness(server, base_url, "httpx", loopback=True, interface="anthropic")
