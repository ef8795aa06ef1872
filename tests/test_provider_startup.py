"""Building a provider stays cheap (issue 12, ``bench/bench_startup.py``): the TAP IR
(pydantic models), the stream codecs and asyncio load with the first request, not when
``create_provider`` builds a compiler and an adapter; ``ToolSafety`` (imported by every
tool) does not load pydantic either.

Each case runs in a fresh interpreter (the test process has all of these loaded); the
test reads which modules it loaded. No timing: the machine is shared. Lazy means
deferred, not dropped: the last case sends a request and streams one through the same
provider in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# What building a provider must not load, and why.
NOT_AT_CREATE = {
    "pydantic": "the TAP IR is made of pydantic models; it loads with the first call",
    "teragent.core.tap": "the TAP IR loads with the first compile or request",
    "teragent.core.messages": "tool calls and stream events load with the first request",
    "teragent_openai.stream": "the stream codec loads with the first stream",
    "teragent_openai.multimodal": "images are checked when a prompt carrying them compiles",
    "teragent_anthropic.stream": "the stream codec loads with the first stream",
    "asyncio": "an adapter is built outside any event loop; requests load it",
    "httpx": "the HTTP client is made at the first request",
    "aiohttp": "the HTTP client is made at the first request",
    "teragent.config": "no api_key_env: no key (and no config model) is needed",
}


def _loaded(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


# The bench's case first; then each model family's compiler and adapter.
FAMILIES = [("default", "openai_compatible", "teragent_openai.adapter"),
            ("anthropic", "anthropic_native", "teragent_anthropic.adapter"),
            ("glm_5", "glm_native", "teragent_glm.adapter"),
            ("minimax_m3", "minimax_native", "teragent_minimax.adapter"),
            ("deepseek_v4", "openai_compatible", "teragent_deepseek.compilers"),
            ("default", "llamacpp", "teragent_llamacpp.adapter"),
            ("default", "mock", "teragent.core.adapters.mock")]


@pytest.mark.parametrize(("compiler", "adapter", "module"), FAMILIES)
def test_create_provider_loads_no_tap_ir_and_no_asyncio(compiler, adapter, module):
    loaded = _loaded(f"""
        import json, sys
        import teragent
        p = teragent.create_provider(compiler={compiler!r}, adapter={adapter!r}, model="m",
                                     base_url="http://127.0.0.1:1")
        assert p.adapter.name == {adapter!r}
        print(json.dumps(sorted(sys.modules)))
    """)
    assert module in loaded  # the case ran
    wrong = {m: why for m, why in NOT_AT_CREATE.items() if m in loaded}
    assert not wrong, f"create_provider loaded what it must not: {wrong}"


def test_tool_safety_does_not_load_pydantic():
    loaded = _loaded("""
        import json, sys
        from teragent.core.types import ToolSafety
        assert ToolSafety("read_only") is ToolSafety.READ_ONLY
        print(json.dumps(sorted(sys.modules)))
    """)
    assert "pydantic" not in loaded
    assert "teragent.core.messages" not in loaded


def test_deferred_parts_load_on_first_request():
    loaded = _loaded("""
        import asyncio, json, sys
        import httpx
        import teragent

        def reply(request):
            body = json.loads(request.content)
            if body.get("stream"):
                chunks = [
                    {"choices": [{"index": 0, "delta": {"content": "str"}}]},
                    {"choices": [{"index": 0, "delta": {"content": "eamed"},
                                  "finish_reason": "stop"}]},
                ]
                text = "".join(f"data: {json.dumps(c)}\\n\\n" for c in chunks)
                return httpx.Response(200, text=text + "data: [DONE]\\n\\n",
                                      headers={"content-type": "text/event-stream"})
            return httpx.Response(200, json={
                "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 1},
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "sent", "tool_calls": [{
                        "id": "c1", "type": "function",
                        "function": {"name": "read", "arguments": '{"path": "a"}'}}]}}]})

        p = teragent.create_provider(adapter="openai_compatible", model="m",
                                     base_url="http://test/v1",
                                     transport=httpx.MockTransport(reply))
        assert "pydantic" not in sys.modules

        async def main():
            answer = await p.complete([{"role": "user", "content": "hi"}])
            assert answer.raw_text == "sent", answer
            assert answer.tool_calls[0].arguments == {"path": "a"}
            events = [e async for e in p.stream_chat([{"role": "user", "content": "hi"}])]
            assert events[-1].kind == "finished", events
            assert events[-1].response.raw_text == "streamed", events[-1]
            assert p.get_cost_summary()["total_calls"] == 2
            await p.close()

        asyncio.run(main())
        print(json.dumps(sorted(sys.modules)))
    """)
    assert {"pydantic", "teragent.core.tap", "teragent_openai.stream"} <= loaded
