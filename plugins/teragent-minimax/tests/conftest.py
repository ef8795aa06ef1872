"""Fixtures: the fake MiniMax server in-process and on a loopback port."""

from __future__ import annotations

import pytest

from teragent_testing.contract import serve_fixtures
from teragent_testing.fake_minimax import FakeMiniMaxServer

loopback_server, loopback = serve_fixtures(FakeMiniMaxServer)


@pytest.fixture
def server() -> FakeMiniMaxServer:
    return FakeMiniMaxServer()
