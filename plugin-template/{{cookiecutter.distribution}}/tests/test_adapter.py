"""Tests of the ``{{ cookiecutter.__ident }}`` adapter against ``httpx.MockTransport``
(no network), and the kernel's adapter contract suite."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from teragent.core.tap import CompiledPrompt
from teragent.errors import ModelAPIError, RateLimitError

from {{ cookiecutter.module }}.adapter import {{ cookiecutter.__class_prefix }}Adapter

PROMPT = CompiledPrompt(messages=[{"role": "user", "content": "Hi"}])


def answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json={
        "model": body["model"],
        "choices": [{"message": {"role": "assistant", "content": "Hello!"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    })


def send(handler: Any, prompt: CompiledPrompt = PROMPT) -> Any:
    async def go() -> Any:
        adapter = {{ cookiecutter.__class_prefix }}Adapter(
            base_url="http://test/v1", api_key="sk-test-123456789",
            transport=httpx.MockTransport(handler))
        try:
            return await adapter.send(prompt, "m1")
        finally:
            await adapter.aclose()
    return asyncio.run(go())


def test_send_maps_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    response = send(handler)
    assert response.raw_text == "Hello!"
    assert response.finish_reason == "stop"
    assert response.total_tokens == 5
    assert seen[0].url.path == "/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-test-123456789"
    assert json.loads(seen[0].content)["messages"] == PROMPT.as_messages()


def test_http_errors_become_model_api_errors_without_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="boom; api_key=sk-test-123456789")

    with pytest.raises(ModelAPIError) as info:
        send(handler)
    assert info.value.status == 500
    assert "sk-test-123456789" not in str(info.value) + (info.value.body or "")


def test_rate_limit_carries_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": "2"}, text="slow down")

    with pytest.raises(RateLimitError) as info:
        send(handler)
    assert info.value.retry_after == 2.0


def test_repr_hides_the_key() -> None:
    adapter = {{ cookiecutter.__class_prefix }}Adapter(api_key="sk-test-123456789")
    assert "sk-test-123456789" not in repr(adapter)

