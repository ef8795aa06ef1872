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

from teragent_testing.agent_harness import add
from teragent_testing.independent_server import (
    IndependentServer, Reply, Request, check_tool_run, json_reply, run_tool_agent, sse,
    variation_reply,
)

ANSWER = "Sums: 5 and 12. Grüße ✓ 日本 😀"  # multi-byte characters, split by "bytes7"


def _tool_turns(request: Request) -> int:
    return sum(m.get("role") == "tool" for m in request.body.get("messages", []))


def _chunks(request: Request, v: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-i", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if finish is not None or not v.get("no_finish_key"):
            choice["finish_reason"] = finish
        return dict(base, choices=[choice])

    out = [chunk({"role": "assistant", "content": None if v.get("content_null") else ""})]
    if v.get("reasoning"):
        out.append(chunk({v["reasoning"]: "thinking"}))
    if v.get("azure"):  # Azure OpenAI: content-filter results before any choice
        out.insert(0, dict(base, model="", choices=[], prompt_filter_results=[
            {"prompt_index": 0, "content_filter_results": {}}]))
    if v.get("no_choices_chunk"):
        out.append(dict(base))
    if _tool_turns(request) == 0:
        calls = [(0, "call_a", '{"a": 2, "b": 3}')]
        if v.get("two_calls"):
            calls.append((1, "call_b", '{"a": 5, "b": 7}'))
        if v.get("calls") == "whole_no_index":  # Gemini: each call whole, no index
            out += [chunk({"tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "add", "arguments": args}}]}) for _, call_id, args in calls]
            calls = []
        elif v.get("calls") == "args_object":  # an object where the protocol has a string
            out += [chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                           "function": {"name": "add",
                                                        "arguments": json.loads(args)}}]})
                    for index, call_id, args in calls]
            calls = []
        for index, call_id, _ in calls:  # id and name once ...
            head: dict[str, Any] = {"index": index, "id": call_id, "type": "function",
                                    "function": {"name": "add", "arguments": ""}}
            if v.get("no_index"):
                del head["index"]
            out.append(chunk({"tool_calls": [head]}))
        for at in range(0, 16, 3):  # ... then the arguments in pieces, interleaved
            for index, _, args in calls:
                if args[at:at + 3]:
                    piece: dict[str, Any] = {"index": index,
                                             "function": {"arguments": args[at:at + 3]}}
                    if v.get("no_index"):
                        del piece["index"]
                    if v.get("calls") == "repeat_head":  # id, type, name on every piece
                        piece.update(id=call_id, type="function")
                        piece["function"]["name"] = "add"
                    out.append(chunk({"tool_calls": [piece]}))
        finish = "tool_calls"
    else:
        out += [chunk({"content": ANSWER[i:i + 4]}) for i in range(0, len(ANSWER), 4)]
        finish = "stop"
    if v.get("finish") == "separate":
        out.append(chunk({}, finish))
    elif v.get("finish") != "absent":
        out[-1]["choices"][0]["finish_reason"] = finish
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    if v.get("usage") == "empty_choices":
        out.append(dict(base, choices=[], usage=usage))
    elif v.get("usage") == "no_choices":
        out.append(dict(base, usage=usage))
    return out


def _batch(request: Request, v: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if _tool_turns(request) == 0:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": "add", "arguments": args if v.get("calls") ==
                          "args_object" else json.dumps(args)}}
            for i, args in enumerate([{"a": 2, "b": 3}, {"a": 5, "b": 7}]
                                     [:2 if v.get("two_calls") else 1])]
        if v.get("content_null"):
            message["content"] = None
        finish = "tool_calls"
    else:
        message["content"] = ANSWER
        finish = "stop"
    if v.get("reasoning"):
        message[v["reasoning"]] = "thinking"
    return {"id": "i", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


def _handler(v: dict[str, Any]) -> Any:
    def handle(request: Request) -> Reply:
        if v.get("redirect") and request.path.startswith("/v1/"):  # a moved API root
            return Reply(307, [("Location", request.path.replace("/v1/", "/v2/", 1))])
        if request.body.get("stream"):
            events = [(v.get("event"), json.dumps(c, ensure_ascii=v.get("ascii", False),
                                                  indent=v.get("indent")))
                      for c in _chunks(request, v)]
            if not v.get("no_done"):
                events.append((v.get("event"), "[DONE]"))
            return variation_reply(v, events)
        return variation_reply(v, body=_batch(request, v))
    return handle


VARIATIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "crlf": {"eol": "\r\n"},
    "cr_only": {"eol": "\r"},
    "data_no_space": {"space": False},
    "ping_comments": {"comments": True},
    "event_lines": {"event": "message"},
    "split_every_7_bytes": {"split": "bytes7"},
    "all_in_one_write": {"split": "one"},
    "usage_chunk_empty_choices": {"usage": "empty_choices"},
    "usage_chunk_no_choices": {"usage": "no_choices"},
    "chunk_without_choices": {"no_choices_chunk": True},
    "no_done_close_delimited": {"no_done": True, "framing": "close"},
    "no_done_chunked": {"no_done": True},
    "two_calls_interleaved": {"two_calls": True},
    "index_missing": {"no_index": True},
    "finish_separate_chunk": {"finish": "separate"},
    "finish_absent": {"finish": "absent"},
    "finish_key_missing": {"finish": "separate", "no_finish_key": True},
    "whole_calls_without_index": {"two_calls": True, "calls": "whole_no_index"},
    "id_and_name_on_every_piece": {"two_calls": True, "calls": "repeat_head"},
    "arguments_as_object": {"two_calls": True, "calls": "args_object"},
    "content_null": {"content_null": True},
    "reasoning_content": {"reasoning": "reasoning_content"},
    "reasoning": {"reasoning": "reasoning"},
    "charset_content_type": {"ctype": "text/event-stream; charset=utf-8"},
    "gzip": {"gzip": True},
    "stream_labelled_json": {"ctype": "application/json"},
    "stream_labelled_text_plain": {"ctype": "text/plain"},
    "redirect_307": {"redirect": True},
    "id_and_retry_fields": {"ids": True},
    "leading_bom": {"bom": True},
    "multi_line_data": {"indent": 1},
    "azure_filter_results_first": {"azure": True},
    "close_delimited": {"framing": "close"},
    "chunked": {"framing": "chunked"},
    "ascii_escaped_json": {"ascii": True},
    "ascii_escapes_split_every_7_bytes": {"ascii": True, "split": "bytes7"},
}


@pytest.mark.parametrize("transport", [None, "httpx"], ids=["default", "httpx"])
@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", list(VARIATIONS))
def test_agent_runs_against_the_variation(name: str, stream: bool, transport: str | None,
                                          tmp_path: Path) -> None:
    """``default`` is the direct aiohttp path when aiohttp is installed."""
    v = VARIATIONS[name]
    with IndependentServer(_handler(v)) as srv:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=srv.url + "/v1", timeout=10,
                                            transport=transport)
        result, modes = run_tool_agent(srv, provider, v, stream, tmp_path, [add])
    check_tool_run(result, modes, stream, v, ANSWER)


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


def _answer(v: dict[str, Any], stream: bool) -> Any:
    """One call answered as after a tool turn (text); the final ``TAPResponse``."""
    async def call(url: str) -> Any:
        provider = teragent.create_provider(adapter="openai_compatible", model="m",
                                            base_url=url + "/v1", timeout=10)
        messages = [{"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "c", "content": "5"}]
        async with provider:
            if stream:
                return [e async for e in provider.stream_chat(messages)][-1].response
            return await provider.complete(messages)

    with IndependentServer(_handler(v)) as srv:
        return asyncio.run(asyncio.wait_for(call(srv.url), 30))


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields_are_kept(field: str, stream: bool) -> None:
    response = _answer({"reasoning": field}, stream)
    assert response.thinking_content == "thinking" and response.raw_text == ANSWER


@pytest.mark.parametrize("where", ["empty_choices", "no_choices"])
def test_the_final_usage_chunk_is_the_usage(where: str) -> None:
    response = _answer({"usage": where}, True)
    assert (response.usage["prompt_tokens"], response.usage["completion_tokens"]) == (11, 7)
    assert not response.usage_estimated


def test_a_stream_kept_open_after_done_still_ends() -> None:
    """A proxy that sends ``[DONE]`` but never ends the chunked body."""
    def handle(request: Request) -> Reply:
        reply = _handler({})(request)
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

    with IndependentServer(_handler({"ctype": content_type, "bom": True})) as srv:
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
