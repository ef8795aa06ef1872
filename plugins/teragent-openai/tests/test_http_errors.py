"""teragent.core.http: error translation and transport choice."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from teragent.core import http as th
from teragent.errors import (
    ContextOverflowError, MissingPluginError, ModelAPIError, ModelTimeoutError,
    RateLimitError, StreamError, UserError,
)

KEY = "sk-secret-abcdef0123456789"


def test_retry_after_seconds_and_http_date() -> None:
    assert th.parse_retry_after("12") == 12
    assert th.parse_retry_after("1.5") == 1.5
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (th.parse_retry_after(date, now=now) or 0) <= 31
    assert th.parse_retry_after(email.utils.formatdate(now - 30, usegmt=True)) == 0
    assert th.parse_retry_after("soon") is None and th.parse_retry_after(None) is None


def test_429_rate_limit() -> None:
    exc = th.error_from_response(429, {"retry-after": "4"}, '{"error":{"message":"slow"}}',
                                 provider="p", model="m")
    assert isinstance(exc, RateLimitError) and exc.retry_after == 4 and exc.retryable


def test_retry_after_ms_preferred() -> None:
    exc = th.error_from_response(429, {"retry-after-ms": "250", "retry-after": "1"}, "")
    assert exc.retry_after == 0.25


@pytest.mark.parametrize("body", [
    '{"error":{"message":"This model\'s maximum context length is 8192 tokens.",'
    '"type":"invalid_request_error","code":"context_length_exceeded"}}',
    '{"error":{"message":"x","code":"context_length_exceeded"}}',
])
def test_context_overflow(body: str) -> None:
    exc = th.error_from_response(400, {}, body)
    assert isinstance(exc, ContextOverflowError) and not exc.retryable


def test_plain_400_is_not_overflow() -> None:
    exc = th.error_from_response(400, {}, '{"error":{"message":"bad tool schema"}}')
    assert type(exc) is ModelAPIError and not exc.retryable and "bad tool schema" in str(exc)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_name_env_var_and_hide_key(status: int) -> None:
    exc = th.error_from_response(status, {}, f'{{"error":{{"message":"bad key {KEY}"}}}}',
                                 api_key_env="OPENAI_API_KEY", secrets=[KEY])
    assert not exc.retryable and "OPENAI_API_KEY" in str(exc)
    assert KEY not in str(exc) and KEY not in (exc.body or "")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_retryable(status: int) -> None:
    exc = th.error_from_response(status, {}, "<html>oops</html>")
    assert type(exc) is ModelAPIError and exc.retryable and exc.status == status


def test_transport_exceptions() -> None:
    req = httpx.Request("POST", "http://x/")
    assert isinstance(th.map_http_error(httpx.ConnectTimeout("t", request=req)),
                      ModelTimeoutError)
    exc = th.map_http_error(httpx.ConnectError("refused", request=req))
    assert type(exc) is ModelAPIError and exc.retryable
    assert isinstance(th.map_http_error(httpx.ReadError("x", request=req),
                                        during_stream=True), StreamError)


def test_resolve_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    mock = httpx.MockTransport(lambda r: httpx.Response(200))
    assert th.resolve_transport(mock) is mock
    assert th.resolve_transport("httpx") is None
    with pytest.raises(UserError, match="Unknown HTTP transport"):
        th.resolve_transport("requests")
    monkeypatch.setenv(th.TRANSPORT_ENV, "httpx")
    assert th.resolve_transport(None) is None


def test_aiohttp_missing_names_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # import now fails
    with pytest.raises(MissingPluginError, match=r"pip install teragent\[aiohttp\]"):
        th.resolve_transport("aiohttp")
    monkeypatch.delenv(th.TRANSPORT_ENV, raising=False)
    assert th.resolve_transport(None) is None  # the default falls back quietly


def test_a_200_body_that_is_not_json_is_a_retryable_error() -> None:
    """A proxy's HTML page with status 200 (through the adapter: th.response_json)."""
    from teragent.core.tap import CompiledPrompt
    from teragent_openai.adapter import OpenAICompatibleAdapter
    from teragent_testing.contract import adapter_response
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply

    server = FakeOpenAIServer(strict=True).script(ScriptedReply(raw_body=b"<html>hi</html>"))
    with pytest.raises(ModelAPIError, match="body that is not JSON") as caught:
        adapter_response(lambda: OpenAICompatibleAdapter(
            base_url="http://fake.test/v1", transport=httpx.ASGITransport(app=server)),
            CompiledPrompt(messages=[{"role": "user", "content": "hi"}]), "m", stream=False)
    assert caught.value.retryable and caught.value.status == 200
    assert caught.value.body == "<html>hi</html>"
