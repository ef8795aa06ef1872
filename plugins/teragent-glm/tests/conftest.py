"""Fixtures: the fake GLM server in-process and on a loopback port."""

from __future__ import annotations

import pytest

from teragent_testing.contract import serve_fixtures
from teragent_testing.fake_glm import FakeGLMServer

loopback_server, loopback = serve_fixtures(FakeGLMServer, "/api/paas/v4")


@pytest.fixture
def server() -> FakeGLMServer:
    return FakeGLMServer()
