"""The adapter contract suite for ``glm_native``, in-process and on loopback."""

from __future__ import annotations

from teragent_glm.adapter import GLMNativeAdapter
from teragent_testing.contract import AdapterContract
from teragent_testing.fake_glm import FakeGLMServer


class TestContract(AdapterContract):
    adapter_class, server_class = GLMNativeAdapter, FakeGLMServer
    base_path = "/api/paas/v4"
