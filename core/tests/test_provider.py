from __future__ import annotations

import asyncio

import pytest

import teragent
from teragent import TAPRequest
from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.errors import (
    IncompatiblePromptError, MissingPluginError, ModelAPIError, RateLimitError,
    UnknownComponentError, redact,
)
from teragent.testing import ScriptedModel, Step, reply


def run(coro):
    return asyncio.run(coro)


def test_execute_tap_with_mock_adapter_and_costs():
    async def main():
        async with teragent.create_provider(adapter="mock", model="m") as p:
            r = await p.execute_tap(TAPRequest(meta={"task_id": "1.1", "intent": "plan"},
                                               instruction="Plan it",
                                               constraints=["short"],
                                               context={"design": "a design"}))
            assert "Plan it" in r.raw_text and "- short" in r.raw_text
            assert "## design" in r.raw_text
            assert r.total_tokens == r.prompt_tokens + r.completion_tokens > 0
            summary = p.get_cost_summary()
            assert summary["total_calls"] == 1
            assert p.cost_records[0].task_id == "1.1" and p.cost_records[0].intent == "plan"
            chunks = [c async for c in p.stream_tap(TAPRequest(instruction="x"))]
            assert "".join(chunks).endswith("# Task\nx")
            assert p.capabilities["compiler"] == "default"

    run(main())


def test_unknown_names_suggest_fixes():
    with pytest.raises(UnknownComponentError, match="Did you mean 'default'"):
        teragent.create_provider(compiler="defualt", adapter="mock")
    with pytest.raises(MissingPluginError, match="pip install teragent-anthropic"):
        teragent.create_provider(compiler="default", adapter="anthropic_native")


def test_default_compiler_refuses_images():
    p = teragent.create_provider(adapter="mock")
    req = TAPRequest(instruction="look", multimodal_context=[{"type": "image_url",
                                                              "url": "http://x/a.png"}])
    with pytest.raises(IncompatiblePromptError, match="cannot carry images"):
        run(p.execute_tap(req))


def test_compiled_prompt_modes():
    assert CompiledPrompt().mode == "empty"
    assert CompiledPrompt(messages=[]).mode == "messages"
    b = CompiledPrompt(system_prompt="s", user_message="u")
    assert b.mode == "system_user" and b.as_messages()[0] == {"role": "system", "content": "s"}
    with pytest.raises(ValueError, match="not both"):
        CompiledPrompt(messages=[], system_prompt="s")


def test_retry_honours_retryable_and_fallback():
    async def main():
        flaky = ScriptedModel([Step(error=RateLimitError("slow down", status=429,
                                                          retry_after=0.0)),
                               reply("ok")])
        r = await flaky.execute_tap_with_retry(TAPRequest(instruction="x"), max_retries=1)
        assert r.raw_text == "ok"
        fatal = ScriptedModel([Step(error=ModelAPIError("bad key", status=401))])
        with pytest.raises(ModelAPIError):
            await fatal.execute_tap_with_retry(TAPRequest(instruction="x"), max_retries=3)
        fatal.assert_consumed()
        primary = ScriptedModel([Step(error=ModelAPIError("down", status=503))])
        backup = ScriptedModel([reply("from backup")])
        primary.set_fallback(backup)
        assert primary.has_fallback
        out = await primary.chat_with_fallback([{"role": "user", "content": "hi"}])
        assert out["content"] == "from backup"
        assert primary.get_cost_summary()["by_provider"]["scripted:scripted"]["failures"] == 1

    run(main())


def test_errors_redact_secrets():
    err = ModelAPIError("failed with Authorization: Bearer sk-abcdef1234567890",
                        status=500, body='{"api_key": "sk-zzzzzzzzzzzz", "x": 1}')
    assert "sk-abcdef" not in str(err) and "sk-zzzz" not in err.body
    assert err.retryable
    assert redact("token=abcdef123456 uses hunter2x", secrets=["hunter2x"]) == \
        "token=*** uses ***"
    assert redact("short ok", secrets=["ok"]) == "short ok"  # too short to be a secret


def test_tracer_records_requests_and_never_breaks_runs():
    class Tracer:
        def __init__(self):
            self.seen = []

        async def record_request(self, request):
            self.seen.append(("req", request.instruction))
            return "t1"

        async def record_response(self, response, task_id=None, trace_id=None):
            self.seen.append(("resp", trace_id))
            raise RuntimeError("tracer bug")

    async def main():
        p = teragent.create_provider(adapter="mock")
        t = Tracer()
        p.set_tracer(t)
        await p.execute_tap(TAPRequest(instruction="hello"))
        assert t.seen == [("req", "hello"), ("resp", "t1")]

    run(main())


def test_tap_response_message_and_tokens():
    r = TAPResponse(raw_text="hi", usage={"prompt_tokens": 3, "completion_tokens": 2},
                    tool_calls=[{"id": "c1", "name": "f", "arguments": {"a": 1}}])
    assert r.total_tokens == 5
    assert r.to_message()["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}

