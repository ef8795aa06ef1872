"""Kernel tests see only the kernel's built-in plugin, whatever else is installed."""

from __future__ import annotations

import pytest

from teragent.testing.hosts import isolated_host


@pytest.fixture(autouse=True)
def _kernel_only_host():
    with isolated_host() as host:
        yield host
