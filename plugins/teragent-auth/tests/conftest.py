"""Fixtures: the loopback token endpoint and API of :mod:`teragent_auth.testing`
(uvicorn in a thread). The ``clock`` fixture tests move by hand is teragent-testing's."""

from __future__ import annotations

from typing import Iterator

import pytest

from teragent_auth.testing import AuthServer


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    from teragent_testing.fake_openai import serve_in_thread

    server = AuthServer()
    with serve_in_thread(server.app(), path="") as url:
        server.url = url
        yield server

