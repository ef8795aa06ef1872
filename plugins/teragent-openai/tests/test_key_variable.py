"""Errors name the key variable the user configured."""

from __future__ import annotations


def test_create_provider_tells_the_adapter_which_variable_holds_the_key(monkeypatch):
    """A 401 must name the variable the user configured, not a vendor default."""
    import teragent

    monkeypatch.setenv("MY_COMPANY_GATEWAY_KEY", "sk-test-123")
    provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                        base_url="http://127.0.0.1:9/v1",
                                        api_key_env="MY_COMPANY_GATEWAY_KEY")
    assert provider.adapter.api_key_env == "MY_COMPANY_GATEWAY_KEY"
