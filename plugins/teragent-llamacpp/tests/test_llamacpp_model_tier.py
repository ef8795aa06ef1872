"""Tests that load the real SmolLM2-135M model in-process (the ``model`` tier)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from llamacpp_testdata import GET_TIME, READ_FILE, TOOLS, run

import teragent
import teragent_llamacpp
from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.core.types import StreamFinished, TextDelta, ToolCallReady, UsageUpdate
from teragent.tools.base import validate_arguments
from teragent_llamacpp.adapter import LlamaCppAdapter, load_model

pytestmark = pytest.mark.model

MODEL = "smollm2-135m-instruct"
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def make_adapter(**options: Any) -> LlamaCppAdapter:
    settings: dict[str, Any] = {"n_ctx": 2048, "seed": 7, "temperature": 0.0,
                                "max_tokens": 48}
    settings.update(options)
    return LlamaCppAdapter(**settings)


def prompt(text: str, tools: list[dict[str, Any]] | None = None, **extra: Any) -> CompiledPrompt:
    return CompiledPrompt(messages=[{"role": "user", "content": text}], tools=tools,
                          extra=extra)


async def collect(adapter: LlamaCppAdapter, compiled: CompiledPrompt) -> list[Any]:
    return [event async for event in adapter.stream_events(compiled, MODEL)]


def test_plain_answer_streams_token_by_token() -> None:
    adapter = make_adapter()
    started = time.perf_counter()
    events = run(collect(adapter, prompt("Tell me about Paris in two sentences.")))
    elapsed = time.perf_counter() - started
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 5
    assert isinstance(events[-2], UsageUpdate) and isinstance(events[-1], StreamFinished)
    response: TAPResponse = events[-1].response
    assert response.raw_text == "".join(d.text for d in deltas)
    assert response.finish_reason in ("stop", "length") and not response.tool_calls
    assert response.prompt_tokens > 0 and response.completion_tokens > 0
    print(f"\nSmolLM2 stream: {response.completion_tokens} tokens in {elapsed:.2f}s "
          f"(incl. load) = {response.completion_tokens / elapsed:.0f} tok/s")


def test_stream_and_send_agree_on_text_and_usage() -> None:
    adapter = make_adapter(max_tokens=24)
    compiled = prompt("Name three colours.")
    sent = run(adapter.send(compiled, MODEL))
    streamed = run(collect(adapter, compiled))[-1].response
    assert streamed.raw_text == sent.raw_text
    assert streamed.usage == sent.usage  # send's usage is llama.cpp's own


@pytest.mark.parametrize("text", [
    "Show me the contents of the file README.md",
    "What time is it right now?",
    "Please open notes/todo.txt",
])
def test_constrained_decoding_yields_valid_tool_calls(text: str) -> None:
    adapter = make_adapter()
    events = run(collect(adapter, prompt(text, TOOLS, tool_choice="required")))
    response = events[-1].response
    assert response.finish_reason == "tool_calls" and response.raw_text == ""
    [call] = response.tool_calls
    assert call.id == "call_1" and call.parse_error is None
    assert call.name in SCHEMAS
    assert validate_arguments(SCHEMAS[call.name], call.arguments) is None
    assert any(isinstance(e, ToolCallReady) and e.call == call for e in events)


def test_model_chooses_a_tool_on_its_own() -> None:
    # tool_choice "auto": the grammar also admits an answer; deterministic at temperature 0.
    response = run(make_adapter().send(
        prompt("Show me the contents of the file README.md", TOOLS), MODEL))
    [call] = response.tool_calls
    assert call.name == "read_file" and call.arguments == {"path": "README.md"}


def test_forced_tool_and_follow_up_answer() -> None:
    adapter = make_adapter()
    forced = {"type": "function", "function": {"name": "read_file"}}
    first = run(adapter.send(prompt("Show me README.md", TOOLS, tool_choice=forced), MODEL))
    [call] = first.tool_calls
    assert call.name == "read_file" and isinstance(call.arguments["path"], str)
    messages = [{"role": "user", "content": "Show me README.md"}, first.to_message(),
                {"role": "tool", "tool_call_id": call.id,
                 "content": "# TerAgent\nA framework for LLM agents, written in Python."}]
    events = run(collect(adapter, CompiledPrompt(messages=messages, tools=TOOLS)))
    final = events[-1].response
    assert final.tool_calls == [] and final.finish_reason in ("stop", "length")
    assert final.raw_text.strip()
    assert sum(isinstance(e, TextDelta) for e in events) > 1


def test_cancelling_the_consumer_stops_generation() -> None:
    adapter = make_adapter(max_tokens=1000)
    compiled = prompt("Write a very long story about a dragon and a knight.")

    async def scenario() -> int:
        seen = 0
        got_some = asyncio.Event()

        async def consume() -> None:
            nonlocal seen
            async for event in adapter.stream_events(compiled, MODEL):
                if isinstance(event, TextDelta):
                    seen += 1
                    if seen == 5:
                        got_some.set()

        task = asyncio.create_task(consume())
        await got_some.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    seen = run(scenario())
    outcome = adapter.last_outcome
    assert outcome is not None and outcome.finish_reason == "cancelled"
    assert seen < 100 and outcome.completion_tokens < 100
    loaded = load_model(_path(), n_ctx=2048,
                        n_threads=adapter.n_threads)
    assert loaded.lock.acquire(blocking=False)  # the worker thread let go of the model
    loaded.lock.release()


def test_breaking_out_of_the_stream_stops_generation() -> None:
    adapter = make_adapter(max_tokens=1000)

    async def scenario() -> None:
        stream = adapter.stream_events(prompt("Count from one to five hundred."), MODEL)
        async for event in stream:
            if isinstance(event, TextDelta):
                break
        await stream.aclose()  # type: ignore[attr-defined]

    run(scenario())
    assert adapter.last_outcome is not None
    assert adapter.last_outcome.finish_reason == "cancelled"


def test_providers_share_one_loaded_model_and_serialise() -> None:
    a, b = make_adapter(), make_adapter()

    async def both() -> list[TAPResponse]:
        return list(await asyncio.gather(a.send(prompt("Say hello."), MODEL),
                                         b.send(prompt("Say goodbye."), MODEL)))

    first, second = run(both())
    assert first.raw_text and second.raw_text
    assert load_model(_path(), n_ctx=2048, n_threads=a.n_threads) is \
        load_model(_path(), n_ctx=2048, n_threads=b.n_threads)


def test_default_driver_builds_a_working_provider() -> None:
    kwargs = teragent_llamacpp.teragent_default_driver(config={})
    assert kwargs is not None and kwargs["model"] == MODEL
    provider = teragent.create_provider(
        **kwargs, adapter_options={"n_ctx": 2048, "max_tokens": 8, "seed": 1})

    async def chat() -> dict[str, Any]:
        async with provider:
            return await provider.chat([{"role": "user", "content": "Hi!"}])

    reply = run(chat())
    assert reply["content"] and reply["usage"]["completion_tokens"] <= 8
    assert provider.name == "llamacpp.smollm2"


def _path() -> str:
    from teragent_llamacpp.models import find_alias

    path = find_alias(MODEL)
    assert path is not None
    return path


def test_tool_definitions_are_the_shared_ones() -> None:
    assert [GET_TIME, READ_FILE] == TOOLS
