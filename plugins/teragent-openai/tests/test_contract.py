"""The adapter contract suite, in-process and on loopback (httpx's pool and aiohttp)."""

from __future__ import annotations

from teragent_openai.adapter import OpenAICompatibleAdapter
from teragent_testing.contract import AdapterContract
from teragent_testing.fake_openai import FakeOpenAIServer


class TestContract(AdapterContract):
    adapter_class, server_class = OpenAICompatibleAdapter, FakeOpenAIServer
    adapter_options = {"api_key_env": "OPENAI_API_KEY"}
