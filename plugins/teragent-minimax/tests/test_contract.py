"""The adapter contract suite for ``minimax_native``, on both interfaces."""

from __future__ import annotations

from typing import Any, Callable

from teragent_minimax.adapter import MiniMaxNativeAdapter
from teragent_testing.contract import AdapterContract, anthropic_tool_results
from teragent_testing.fake_minimax import FakeMiniMaxServer


class TestOpenAIInterface(AdapterContract):
    adapter_class, server_class = MiniMaxNativeAdapter, FakeMiniMaxServer
    transports = ("asgi", "httpx")


class TestAnthropicInterface(AdapterContract):
    adapter_class, server_class = MiniMaxNativeAdapter, FakeMiniMaxServer
    adapter_options = {"interface": "anthropic"}
    auth_header = "x-api-key"
    transports = ("httpx",)
    tool_results = staticmethod(anthropic_tool_results)  # type: ignore[assignment]

    def disconnect_waiter(self, server: Any) -> Callable[[float], bool]:
        return lambda timeout: server.wait_for_disconnect(timeout, interface="anthropic")
