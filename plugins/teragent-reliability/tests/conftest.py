"""Reliability tests: an isolated plugin host holding the kernel's built-in plugin, this
one and the openai_compatible adapter (so what is tested is the registration through the
hooks, not an import). The ``clock`` fixture (a clock tests move by hand) is
teragent-testing's."""

from __future__ import annotations

import pytest

import teragent_reliability
from teragent.testing.hosts import isolated_host


@pytest.fixture(autouse=True)
def reliability_host():
    teragent_openai = pytest.importorskip("teragent_openai")
    with isolated_host(teragent_reliability, teragent_openai) as host:
        yield host

