"""Shared fixtures: the fake OpenAI server in-process and on a loopback port."""

from __future__ import annotations

import pytest

from teragent_testing.contract import serve_fixtures
from teragent_testing.fake_openai import FakeOpenAIServer

loopback_server, loopback = serve_fixtures(FakeOpenAIServer)


@pytest.fixture
def server() -> FakeOpenAIServer:
    return FakeOpenAIServer()
