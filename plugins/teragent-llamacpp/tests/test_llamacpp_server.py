"""Integration: llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``)
run as a subprocess on loopback with SmolLM2, driven through the ``openai_compatible``
adapter of the ``teragent-openai`` plugin."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from llamacpp_testdata import READ_FILE, run

import teragent
from teragent.core.types import TextDelta
from teragent.tools.base import validate_arguments

pytestmark = pytest.mark.model

pytest.importorskip("fastapi", reason="pip install 'teragent-llamacpp[server]'")
pytest.importorskip("teragent_openai", reason="pip install -e plugins/teragent-openai")

MODEL = "smollm2"


@pytest.fixture(scope="module")
def server(smollm2_path: str) -> Iterator[str]:
    from teragent_llamacpp.server import serve_llama_cpp

    with serve_llama_cpp(smollm2_path, alias=MODEL) as base:
        yield base


def _provider(base_url: str) -> Any:
    return teragent.create_provider(adapter="openai_compatible", base_url=base_url,
                                    model=MODEL)


def test_tool_call_round_trip(server: str) -> None:
    params = READ_FILE["function"]["parameters"]
    tools = [{"type": "function", "function": {
        **READ_FILE["function"],
        "parameters": {**params, "properties": {"path": {"type": "string",
                                                         "maxLength": 40}}}}}]
    forced = {"type": "function", "function": {"name": "read_file"}}

    async def scenario() -> tuple[Any, Any]:
        async with _provider(server) as provider:
            messages: list[dict[str, Any]] = [
                {"role": "user", "content": "Show me the contents of README.md"}]
            first = await provider.complete(messages, tools=tools, tool_choice=forced,
                                            max_tokens=48, temperature=0)
            assert first.tool_calls, first
            call = first.tool_calls[0]
            messages += [first.to_message(), {
                "role": "tool", "tool_call_id": call.id,
                "content": "# TerAgent\nA framework for LLM agents, written in Python."}]
            final = await provider.complete(messages, max_tokens=48, temperature=0)
            return first, final

    first, final = run(scenario())
    [call] = first.tool_calls
    assert first.finish_reason == "tool_calls" and call.name == "read_file"
    assert call.parse_error is None
    assert validate_arguments(READ_FILE["function"]["parameters"], call.arguments) is None
    assert final.tool_calls == [] and final.raw_text.strip()
    assert final.usage["prompt_tokens"] > 0


def test_streaming_through_the_server(server: str) -> None:
    async def scenario() -> list[Any]:
        async with _provider(server) as provider:
            return [e async for e in provider.stream_chat(
                [{"role": "user", "content": "Say hello in one sentence."}],
                max_tokens=24, temperature=0)]

    events = run(scenario())
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    assert events[-1].response.raw_text


def test_streamed_usage_is_counted_when_the_server_sends_none(server: str) -> None:
    """llama_cpp.server streams no usage chunk; openai_compatible counts one token per
    streamed delta (the server sends one token a chunk) and estimates the prompt, so a
    streamed local run no longer reports zero tokens. The same prompt, sent whole,
    gives the server's exact counts to compare with."""
    # With a system message of our own: SmolLM2's chat template injects a default one
    # (~20 tokens) into a conversation that has none, which no client can see.
    messages = [{"role": "system", "content": "You are a friendly assistant."},
                {"role": "user", "content": "Say hello in one sentence."}]

    async def scenario() -> tuple[Any, Any, int]:
        async with _provider(server) as provider:
            sent = await provider.complete(messages, max_tokens=24, temperature=0)
            events = [e async for e in provider.stream_chat(messages, max_tokens=24,
                                                            temperature=0)]
            deltas = sum(1 for e in events if isinstance(e, TextDelta))
            return sent, events[-1].response, deltas

    # The streamed and the whole answer may differ in wording (llama.cpp reuses its
    # prompt cache between the two), so each count is checked against its own truth.
    sent, streamed, deltas = run(scenario())
    if streamed.usage_estimated:  # the server sent none
        assert abs(streamed.completion_tokens - deltas) <= 1  # one token per chunk
        assert 0.5 * sent.prompt_tokens <= streamed.prompt_tokens <= 2 * sent.prompt_tokens
    else:
        assert streamed.prompt_tokens == sent.prompt_tokens
    assert streamed.total_tokens > 0
