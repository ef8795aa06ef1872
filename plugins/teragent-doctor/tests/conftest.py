"""Every test sees a plugin host with the kernel and this plugin only."""

from __future__ import annotations

import pytest
import teragent_doctor
from teragent.testing.hosts import isolated_host


@pytest.fixture(autouse=True)
def _host():
    with isolated_host(teragent_doctor) as host:
        yield host
