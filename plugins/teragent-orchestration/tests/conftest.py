"""Fixtures for the orchestration plugin; registers the ``model`` tier marker.

Each test runs in an isolated plugin host holding the kernel's built-in plugin and
this one (so what is tested is the registration through the hooks, not an import).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import teragent_orchestration
from teragent.testing.hosts import isolated_host

# --import-mode=importlib does not put test folders on sys.path; the helpers live here.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "model: loads a real GGUF model (SmolLM2-135M); slower, still run in CI")


@pytest.fixture(autouse=True)
def patterns_host():
    with isolated_host(teragent_orchestration) as host:
        yield host
