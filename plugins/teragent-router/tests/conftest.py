"""Router and intent tests run in a plugin host holding the kernel's built-in plugin and
this one (it registers the agent.toml tables the router reads); a test adds what else
it needs."""

from __future__ import annotations

import pytest

import teragent_router
from teragent.testing.hosts import isolated_host


@pytest.fixture(autouse=True)
def router_host():
    with isolated_host(teragent_router) as host:
        yield host
