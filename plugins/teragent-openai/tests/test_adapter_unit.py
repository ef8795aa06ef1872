"""Request bodies, non-streaming parsing, the client's life cycle and registration."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from teragent.core.tap import CompiledPrompt
from teragent.errors import ModelAPIError, ModelTimeoutError
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply
from teragent_openai.adapter import OpenAICompatibleAdapter

KEY = "sk-unit-test-key-abcdef123456"


def _adapter(**kw: object) -> OpenAICompatibleAdapter:
    return OpenAICompatibleAdapter(base_url="http://fake.test/v1", **kw)  # type: ignore[arg-type]


def test_mode_b_becomes_messages_and_extra_params_pass_through() -> None:
    compiled = CompiledPrompt(system_prompt="S", user_message="U", tools=[{"type": "function"}],
                              extra={"temperature": 0.2, "max_tokens": 50,
                                     "thinking": {"type": "enabled"}, "variant": "flash",
                                     "cache_aware": True, "extra_body": {"top_k": 3}})
    body = _adapter().build_body(compiled, "m", stream=True)
    assert body["messages"] == [{"role": "system", "content": "S"},
                                {"role": "user", "content": "U"}]
    assert (body["temperature"], body["max_tokens"], body["thinking"]) == \
        (0.2, 50, {"type": "enabled"})
    assert "variant" not in body and "cache_aware" not in body and "extra_body" not in body
    assert body["top_k"] == 3
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["tools"] == [{"type": "function"}]
    plain = _adapter().build_body(CompiledPrompt(messages=[]), "m", stream=False)
    assert "stream" not in plain and "stream_options" not in plain and "tools" not in plain


def test_non_stream_parsing_of_vendor_fields() -> None:
    data = {"model": "deepseek-chat", "choices": [{"index": 0, "finish_reason": "length",
            "message": {"role": "assistant", "content": "a", "reasoning_content": "r",
                        "tool_calls": [{"id": "x", "type": "function", "function": {
                            "name": "f", "arguments": "not json"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                      "prompt_cache_hit_tokens": 1,
                      "completion_tokens_details": {"reasoning_tokens": 1}}}
    r = _adapter().parse_completion(data, "m")
    assert (r.raw_text, r.thinking_content, r.finish_reason, r.model) == \
        ("a", "r", "length", "deepseek-chat")
    assert r.cache_hit_tokens == 1 and r.usage["reasoning_tokens"] == 1
    assert r.tool_calls[0].parse_error and r.tool_calls[0].raw_arguments == "not json"


def test_body_without_choices_raises() -> None:
    with pytest.raises(ModelAPIError, match="without choices"):
        _adapter().parse_completion({"error": {"message": "nope"}}, "m")


def test_one_pooled_client_created_lazily_and_closed() -> None:
    server = FakeOpenAIServer()
    seen: list[int] = []

    async def main() -> None:
        adapter = _adapter(transport=httpx.ASGITransport(app=server))
        assert adapter._client is None
        for _ in range(3):
            await adapter.send(CompiledPrompt(messages=[{"role": "user", "content": "x"}]), "m")
            seen.append(id(adapter._client))
        client = adapter._client
        await adapter.aclose()
        await adapter.aclose()  # safe twice
        assert client is not None and client.is_closed and adapter._client is None

    asyncio.run(main())
    assert len(set(seen)) == 1


def test_key_only_in_authorization_header_and_hidden_in_repr() -> None:
    server = FakeOpenAIServer()

    async def main() -> None:
        adapter = _adapter(api_key=KEY, transport=httpx.ASGITransport(app=server))
        assert KEY not in repr(adapter)
        await adapter.send(CompiledPrompt(user_message="x"), "m")
        await adapter.aclose()

    asyncio.run(main())
    (req,) = server.requests
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in json.dumps(req.body)


def test_timeout_maps_to_model_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async def main() -> None:
        adapter = _adapter(transport=httpx.MockTransport(handler))
        try:
            await adapter.send(CompiledPrompt(user_message="x"), "m")
        finally:
            await adapter.aclose()

    with pytest.raises(ModelTimeoutError):
        asyncio.run(main())


def test_connection_refused_is_retryable_model_api_error() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now

    async def main() -> None:
        adapter = OpenAICompatibleAdapter(base_url=f"http://127.0.0.1:{port}/v1",
                                          transport="httpx", api_key=KEY)
        try:
            await adapter.send(CompiledPrompt(user_message="x"), "m")
        finally:
            await adapter.aclose()

    with pytest.raises(ModelAPIError) as info:
        asyncio.run(main())
    assert info.value.retryable and not isinstance(info.value, ModelTimeoutError)
    assert KEY not in str(info.value)


def test_registered_through_entry_point_and_create_provider(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import teragent
    from teragent.core.tap import TAPRequest
    from teragent.plugins import PluginHost, use_host

    monkeypatch.setenv("TERAGENT_PLUGINS", "openai")  # only this plugin, whatever else is installed
    server = FakeOpenAIServer().script(ScriptedReply(text="from the provider"))
    with use_host(PluginHost()) as host:
        assert host.registry("adapters").get("openai_compatible") is OpenAICompatibleAdapter
        record = host.records["openai"]
        assert record.distribution == "teragent-openai" and record.status == "loaded"

        async def main() -> str:
            provider = teragent.create_provider(
                adapter="openai_compatible", compiler="default", model="m",
                base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server))
            async with provider:
                r = await provider.execute_tap(TAPRequest(instruction="hi"))
            return str(r.raw_text)

        assert asyncio.run(main()) == "from the provider"


def test_kernel_import_shim() -> None:
    from teragent.core.adapters.openai_compatible import OpenAICompatibleAdapter as Shim

    assert Shim is OpenAICompatibleAdapter
