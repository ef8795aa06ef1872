"""The kernel's adapter contract suite for ``glm_native``, in-process and on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from teragent.testing.contract import AdapterContract, AdapterHarness
from teragent.testing.fake_glm import FakeGLMServer


class TestInProcess(AdapterContract):
    @pytest.fixture
    def harness(self, in_process: AdapterHarness) -> AdapterHarness:
        return in_process


class TestLoopback(AdapterContract):
    @pytest.fixture
    def harness(self, loopback: tuple[FakeGLMServer, str],
                make_harness: Any) -> AdapterHarness:
        server, base_url = loopback
        return make_harness(server, base_url, "httpx", loopback=True)
