"""The ``openai_compatible`` adapter against an independently written Chat Completions
server (``teragent_testing.independent_server``: raw sockets, not our fakes), in each framing
and dialect that real servers and proxies (vLLM, llama.cpp, Ollama, LiteLLM, OpenRouter,
Azure, Together, Groq) produce: an agent built by ``build_agent`` runs a tool turn and an
answer, batch and streaming. Then the error bodies those servers send."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import teragent

from teragent_testing.independent_chat import (
    ANSWER, VARIATIONS, answer_once, check_thinking, handler, run_variation,
)
from teragent_testing.independent_server import IndependentServer, Reply, Request, json_reply, sse


@pytest.mark.parametrize("transport", [None, "httpx"], ids=["default", "httpx"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", list(VARIATIONS))
def test_agent_runs_against_the_variation(name: str, stream: bool, transport: str | None,
                                          tmp_path: Path) -> None:
    """``default`` is the direct aiohttp path when aiohttp is installed."""
    run_variation(lambda url: teragent.create_provider(
        adapter="openai_compatible", model="m", base_url=url + "/v1", timeout=10,
        transport=transport), VARIATIONS[name], stream, tmp_path)


def _error(handler: Any, stream: bool) -> BaseException:
    async def call(url: str) -> Any:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=url + "/v1", timeout=10)
        async with provider:
            if stream:
                return [e async for e in provider.stream_chat([{"role": "user",
                                                                "content": "hi"}])]
            return await provider.complete([{"role": "user", "content": "hi"}])

    with IndependentServer(handler) as srv:
        with pytest.raises(Exception) as caught:
            asyncio.run(asyncio.wait_for(call(srv.url), 30))
    return caught.value


ERROR_BODIES = {  # body, content type, what the error must say
    "error_object": ({"error": {"message": "model xyz is unknown", "type": "x"}},
                     "application/json", "model xyz is unknown"),
    "error_string": ({"error": "model xyz is unknown"}, "application/json",
                     "model xyz is unknown"),
    "fastapi_detail": ({"detail": "model xyz is unknown"}, "application/json",
                       "model xyz is unknown"),
    "fastapi_422_list": ({"detail": [{"loc": ["body", "model"], "msg": "field required",
                                      "type": "missing"}]}, "application/json",
                         "body.model: field required"),
    "vllm_object_error": ({"object": "error", "message": "model xyz is unknown",
                           "code": 404}, "application/json", "model xyz is unknown"),
    "proxy_html": ("<html><head><style>h1{x:y}</style></head><body><h1>502 Bad Gateway"
                   "</h1><hr>nginx</body></html>", "text/html", "502 Bad Gateway nginx"),
    "empty": ("", "text/plain", "(empty body)"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("status", [400, 404, 422, 500])
@pytest.mark.parametrize("shape", list(ERROR_BODIES))
def test_error_body_shapes_give_the_servers_words(shape: str, status: int,
                                                  stream: bool) -> None:
    body, content_type, words = ERROR_BODIES[shape]
    error = _error(lambda r: json_reply(body, status, content_type=content_type), stream)
    assert f"HTTP {status}" in str(error)
    assert f": {words} (HTTP" in str(error), str(error)
    assert "{" not in str(error) and "<" not in str(error), str(error)


@pytest.mark.parametrize("split", ["event", "bytes7"])
def test_error_event_mid_stream_names_the_vendor_message(split: str) -> None:
    """``event: error`` with an OpenAI error object (as OpenRouter and LiteLLM send it)."""
    part = json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": "par"}}]})
    error = _error(lambda r: sse([(None, part), ("error", json.dumps(
        {"error": {"message": "upstream overloaded", "code": 502}}))], split=split), True)
    assert str(error).startswith("The server reported an error inside the stream: "
                                 "upstream overloaded (code 502)"), str(error)


def test_a_200_body_that_is_not_json_is_quoted() -> None:
    error = _error(lambda r: json_reply("<html><body>Please log in</body></html>",
                                        content_type="text/html"), False)
    assert "not JSON: 'Please log in'" in str(error), str(error)


def _openai(url: str) -> Any:
    return teragent.create_provider(adapter="openai_compatible", model="m",
                                    base_url=url + "/v1", timeout=10)


def _answer(v: dict[str, Any], stream: bool) -> Any:
    """One call answered as after a tool turn (text); the final ``TAPResponse``."""
    return answer_once(_openai, v, stream)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "reasoning_details"])
def test_reasoning_fields_are_kept(field: str, stream: bool) -> None:
    check_thinking(_openai, {"reasoning": field}, stream)


@pytest.mark.parametrize("where", ["empty_choices", "no_choices"])
def test_the_final_usage_chunk_is_the_usage(where: str) -> None:
    response = _answer({"usage": where}, True)
    assert (response.usage["prompt_tokens"], response.usage["completion_tokens"]) == (11, 7)
    assert not response.usage_estimated


def test_a_stream_kept_open_after_done_still_ends() -> None:
    """A proxy that sends ``[DONE]`` but never ends the chunked body."""
    def handle(request: Request) -> Reply:
        reply = handler({})(request)
        reply.hang = True
        return reply

    async def call(url: str) -> Any:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=url + "/v1", timeout=60)
        async with provider:
            return [e async for e in provider.stream_chat([
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "c", "content": "5"}])][-1].response

    with IndependentServer(handle) as srv:
        assert asyncio.run(asyncio.wait_for(call(srv.url), 30)).raw_text == ANSWER


@pytest.mark.parametrize("transport", [None, "httpx"], ids=["default", "httpx"])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_an_event_stream_under_another_content_type_is_read(content_type: str,
                                                            transport: str | None) -> None:
    """Direct, not through the agent (whose retry by ``send`` would hide a failure)."""
    async def call(url: str) -> Any:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=url + "/v1", timeout=10,
                                            transport=transport)
        async with provider:
            return [e async for e in provider.stream_chat([
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "c", "content": "5"}])][-1].response

    with IndependentServer(handler({"ctype": content_type, "bom": True})) as srv:
        assert asyncio.run(asyncio.wait_for(call(srv.url), 30)).raw_text == ANSWER


def test_a_surrogate_pair_split_between_deltas_is_one_character() -> None:
    """A server cutting text by UTF-16 unit sends ``"\\ud83d"`` then ``"\\ude00"``; the
    answer must be 😀 (text that can be sent back as UTF-8), not two lone halves."""
    def handle(request: Request) -> Reply:
        chunk = ('{"id": "x", "choices": [{"index": 0, "delta": {"%s": "%s"}, '
                 '"finish_reason": %s}]}')

        def tool(delta: dict[str, Any], half: str) -> str:  # HALF: a surrogate's escape
            return json.dumps({"id": "x", "choices": [{"index": 0, "delta": {
                "tool_calls": [delta]}}]}).replace("HALF", half)

        return sse([(None, chunk % ("reasoning_content", "a \\ud83d", "null")),
                    (None, chunk % ("reasoning_content", "\\ude00 b", "null")),
                    (None, chunk % ("content", "hi \\ud83d", "null")),
                    (None, chunk % ("content", "\\ude00 ok \\udc00", "null")),
                    (None, tool({"index": 0, "id": "c1", "type": "function", "function": {
                        "name": "add", "arguments": '{"s": "HALF'}}, "\\ud83d")),
                    (None, tool({"index": 0, "function": {"arguments": 'HALF"}'}},
                                "\\ude00")),
                    (None, chunk % ("content", "", '"tool_calls"')),
                    (None, "[DONE]")])

    async def call(url: str) -> Any:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=url + "/v1", timeout=10)
        async with provider:
            return [e async for e in provider.stream_chat([
                {"role": "user", "content": "hi"}])][-1].response

    with IndependentServer(handle) as srv:
        response = asyncio.run(asyncio.wait_for(call(srv.url), 30))
    assert response.raw_text == "hi 😀 ok \ufffd"  # a lone half: the replacement character
    assert response.thinking_content == "a 😀 b"
    assert response.tool_calls[0].arguments == {"s": "😀"}


@pytest.mark.parametrize("event,data", [
    (None, {"object": "error", "message": "upstream died", "type": "x", "code": 500}),
    ("error", {"message": "upstream died"}),
    ("error", "upstream died"),
    (None, {"error": "upstream died"}),
], ids=["vllm_error_response", "error_event_bare_object", "error_event_text", "error_string"])
def test_error_shapes_mid_stream_name_the_servers_words(event: str | None, data: Any) -> None:
    part = json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": "par"}}]})
    text = data if isinstance(data, str) else json.dumps(data)
    error = _error(lambda r: sse([(None, part), (event, text)]), True)
    assert str(error).startswith("The server reported an error inside the stream: "
                                 "upstream died"), str(error)
    assert getattr(error, "retryable", False)
