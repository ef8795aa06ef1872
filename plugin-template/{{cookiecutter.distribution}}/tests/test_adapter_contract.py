"""The kernel's adapter contract suite, run against this plugin's adapter.

The sample adapter speaks OpenAI's wire format, so it runs against the kernel's fake
OpenAI server. When you change the protocol, give the harness your vendor's fake server
(see :mod:`teragent.testing.contract`).
"""

from __future__ import annotations

import httpx
import pytest
from teragent.testing.contract import AdapterContract, AdapterHarness
from teragent.testing.fake_openai import FakeOpenAIServer

from {{ cookiecutter.module }}.adapter import {{ cookiecutter.__class_prefix }}Adapter


class Test{{ cookiecutter.__class_prefix }}AdapterContract(AdapterContract):
    @pytest.fixture
    def harness(self) -> AdapterHarness:
        server = FakeOpenAIServer()
        return AdapterHarness(
            make_adapter=lambda api_key=None: {{ cookiecutter.__class_prefix }}Adapter(
                base_url="http://fake/v1", api_key=api_key,
                transport=httpx.ASGITransport(app=server)),
            script=server.script,
            requests=lambda: [r.body for r in server.requests],
            headers=lambda: [r.headers for r in server.requests],
        )

    def test_stream_event_order(self, harness: AdapterHarness) -> None:
        pytest.skip("the sample adapter does not stream (it replays send()); delete this "
                    "override once stream_events streams")
