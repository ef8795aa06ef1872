"""The adapter contract suite (teragent-testing), run against this plugin's adapter.

The sample adapter speaks OpenAI's wire format, so it runs against the fake OpenAI
server. When you change the protocol, name your vendor's fake server (see
:mod:`teragent_testing.contract`); drop ``transports`` once the adapter speaks HTTP
through :mod:`teragent.core.http`, to run on loopback too.
"""

from __future__ import annotations

import pytest
from teragent_testing.contract import AdapterContract, AdapterHarness
from teragent_testing.fake_openai import FakeOpenAIServer

from {{ cookiecutter.module }}.adapter import {{ cookiecutter.__class_prefix }}Adapter


class Test{{ cookiecutter.__class_prefix }}AdapterContract(AdapterContract):
    adapter_class = {{ cookiecutter.__class_prefix }}Adapter
    server_class = FakeOpenAIServer
    transports = ("asgi",)

    def test_stream_event_order(self, harness: AdapterHarness) -> None:
        pytest.skip("the sample adapter does not stream (it replays send()); delete this "
                    "override once stream_events streams")
