"""The adapter contract suite, in-process and on loopback (httpx's pool and aiohttp)."""

from __future__ import annotations

from teragent_anthropic.adapter import AnthropicNativeAdapter
from teragent_testing.contract import AdapterContract, anthropic_tool_results
from teragent_testing.fake_anthropic import FakeAnthropicServer


class TestContract(AdapterContract):
    adapter_class, server_class = AnthropicNativeAdapter, FakeAnthropicServer
    auth_header = "x-api-key"
    tool_results = staticmethod(anthropic_tool_results)  # type: ignore[assignment]
