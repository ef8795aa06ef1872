"""Memory tests: an isolated plugin host holding this plugin (and, where a test asks,
the WordLlama embedder plugin)."""

from __future__ import annotations

import pytest

import teragent_memory
from teragent.testing.hosts import isolated_host


@pytest.fixture()
def memory_host():
    with isolated_host(teragent_memory) as host:
        yield host


@pytest.fixture()
def hybrid_host():
    wordllama = pytest.importorskip("teragent_memory_wordllama")
    with isolated_host(teragent_memory, wordllama) as host:
        yield host
