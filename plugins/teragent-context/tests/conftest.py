"""Context tests: an isolated plugin host with this plugin (and the OpenAI adapter for the
loopback runs), so what is tested is the registration through the hooks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import teragent_context
from teragent.testing.hosts import isolated_host

# --import-mode=importlib does not put test folders on sys.path; the shared doubles
# are imported from here.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture()
def context_host():
    teragent_openai = pytest.importorskip("teragent_openai")
    with isolated_host(teragent_context, teragent_openai) as host:
        yield host
