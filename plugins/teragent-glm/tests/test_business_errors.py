"""Zhipu's business codes and context-length wording map to the typed error tree, on
the direct path (``execute_tap``/``send``) and streaming; 401s name the key variable."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import teragent
from teragent.core.tap import TAPRequest
from teragent.errors import ContextOverflowError, ModelAPIError, QuotaExceededError
from teragent_testing.fake_glm import FakeGLMServer
from teragent_testing.fake_openai import ScriptedReply

ERRORS = {
    "1261": ScriptedReply(status=400, error_body={"error": {
        "code": "1261", "message": "Prompt exceeds max length"}}),
    "1113": ScriptedReply(status=429, error_body={"error": {
        "code": "1113", "message": "您的账户已欠费，请充值后重试。"}}),
    "chinese-context": ScriptedReply(status=400, error_body={"error": {
        "code": "1210", "message": "输入的 Prompt 超长，超过模型最大上下文长度"}}),
}


def _provider(server: FakeGLMServer, **kwargs: Any) -> Any:
    return teragent.create_provider(
        compiler="glm_52", adapter="glm_native", model="glm-5.2",
        base_url="http://fake.test/api/paas/v4", transport=httpx.ASGITransport(app=server),
        **kwargs)


def _fail(server: FakeGLMServer, stream: bool, **kwargs: Any) -> ModelAPIError:
    async def main() -> None:
        async with _provider(server, **kwargs) as provider:
            request = TAPRequest(instruction="hi")
            if stream:
                async for _ in provider.stream_tap(request):
                    pass
            else:
                await provider.execute_tap(request)

    with pytest.raises(ModelAPIError) as info:
        asyncio.run(main())
    return info.value


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("case, cls, retryable", [
    ("1261", ContextOverflowError, False),
    ("1113", QuotaExceededError, False),
    ("chinese-context", ContextOverflowError, False),
])
def test_business_codes_are_typed(case: str, cls: type, retryable: bool, stream: bool) -> None:
    server = FakeGLMServer().script(ERRORS[case])
    error = _fail(server, stream)
    assert type(error) is cls and error.retryable is retryable


def test_arrears_is_not_retried() -> None:
    server = FakeGLMServer().script(ERRORS["1113"], ScriptedReply(text="never reached"))

    async def main() -> None:
        async with _provider(server) as provider:
            await provider.execute_tap_with_retry(TAPRequest(instruction="hi"),
                                                  max_retries=3, base_delay=0)

    with pytest.raises(QuotaExceededError):
        asyncio.run(main())
    assert len(server.requests) == 1


def test_401_names_the_configured_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_ZHIPU_KEY", "zhipu-secret-value")
    server = FakeGLMServer().script(ScriptedReply(status=401))
    error = _fail(server, False, api_key_env="MY_ZHIPU_KEY")
    assert "MY_ZHIPU_KEY" in str(error) and "GLM_API_KEY" not in str(error)
    assert "zhipu-secret-value" not in str(error)
