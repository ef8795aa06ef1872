"""Fixtures: the loopback token endpoint and API of :mod:`teragent_auth.testing`
(uvicorn in a thread), and a clock tests move by hand."""

from __future__ import annotations

from typing import Iterator

import pytest

from teragent_auth.testing import AuthServer


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    from teragent_testing.fake_openai import serve_in_thread

    server = AuthServer()
    with serve_in_thread(server.app(), path="") as url:
        server.url = url
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
