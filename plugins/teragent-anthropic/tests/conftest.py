"""Fixtures: the fake Anthropic server in-process and on a loopback port."""

from __future__ import annotations

import pytest

from teragent_testing.contract import serve_fixtures
from teragent_testing.fake_anthropic import FakeAnthropicServer

loopback_server, loopback = serve_fixtures(FakeAnthropicServer)


@pytest.fixture
def server() -> FakeAnthropicServer:
    return FakeAnthropicServer()
