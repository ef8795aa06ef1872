"""Reliability tests: the kernel host plus the openai_compatible adapter plugin."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _openai_plugin(_kernel_only_host):
    teragent_openai = pytest.importorskip("teragent_openai")
    _kernel_only_host.add_plugin(teragent_openai, name="openai")
    yield _kernel_only_host


class FakeClock:
    """A monotonic clock tests move by hand (cooldowns without sleeping)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
