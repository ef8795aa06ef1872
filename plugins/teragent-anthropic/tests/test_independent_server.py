"""The ``anthropic_native`` adapter against an independently written Messages API server
(``teragent_testing.independent_server``: raw sockets, not our fakes), in
the framings and dialects real servers and proxies produce: an agent built by
``build_agent`` runs a tool turn (thinking, signature, ``input_json_delta`` split
anywhere) and an answer, batch and streaming. Then errors: bodies of several shapes,
529 overloaded, an ``error`` event mid-stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import teragent

from teragent_testing.agent_harness import add
from teragent_testing.independent_server import (
    IndependentServer, Reply, check_tool_run, json_reply, run_tool_agent, sse, variation_reply,
)

ANSWER = "Sums: 5 and 12. Grüße ✓ 日本 😀"


def _tool_turns(request: Any) -> int:
    return sum(isinstance(m.get("content"), list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"])
        for m in request.body.get("messages", []))


USAGE = {"input_tokens": 25, "output_tokens": 1}


def _events(request: Any, v: dict[str, Any]) -> list[dict[str, Any]]:
    first = _tool_turns(request) == 0
    out: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_i", "type": "message", "role": "assistant", "model": "claude-i",
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": USAGE}}]
    if v.get("ping"):
        out.append({"type": "ping"})
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if v.get("thinking"):
        blocks.append(({"type": "thinking", "thinking": ""}, [
            {"type": "thinking_delta", "thinking": "Let me add."},
            {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}]))
    if first:
        calls = [("toolu_a", '{"a": 2, "b": 3}')]
        if v.get("two_calls"):
            calls.append(("toolu_b", '{"a": 5, "b": 7}'))
        for call_id, args in calls:
            pieces = [args[i:i + 3] for i in range(0, len(args), 3)]
            if v.get("empty_first_piece"):
                pieces = [""] + pieces
            blocks.append(({"type": "tool_use", "id": call_id, "name": "add", "input": {}},
                           [{"type": "input_json_delta", "partial_json": p} for p in pieces]))
        stop = "tool_use"
    else:
        blocks.append(({"type": "text", "text": ""}, [
            {"type": "text_delta", "text": ANSWER[i:i + 4]} for i in range(0, len(ANSWER), 4)]))
        stop = "end_turn"
    for index, (start, deltas) in enumerate(blocks):
        out.append({"type": "content_block_start", "index": index, "content_block": start})
        out += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        out.append({"type": "content_block_stop", "index": index})
        if v.get("ping"):
            out.append({"type": "ping"})
    out.append({"type": "message_delta", "delta": {"stop_reason": stop,
                                                   "stop_sequence": None},
                "usage": {"output_tokens": 15}})
    if not v.get("no_message_stop"):
        out.append({"type": "message_stop"})
    return out


def _batch(request: Any, v: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if v.get("thinking"):
        content.append({"type": "thinking", "thinking": "Let me add.",
                        "signature": "c2lnbmF0dXJl"})
    if _tool_turns(request) == 0:
        content.append({"type": "tool_use", "id": "toolu_a", "name": "add",
                        "input": {"a": 2, "b": 3}})
        if v.get("two_calls"):
            content.append({"type": "tool_use", "id": "toolu_b", "name": "add",
                            "input": {"a": 5, "b": 7}})
        stop = "tool_use"
    else:
        content.append({"type": "text", "text": ANSWER})
        stop = "end_turn"
    return {"id": "msg_i", "type": "message", "role": "assistant", "model": "claude-i",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 15}}


def _handler(v: dict[str, Any]) -> Any:
    def handle(request: Any) -> Any:
        if v.get("redirect") and request.path.startswith("/v1/"):  # a moved API root
            return Reply(307, [("Location", request.path.replace("/v1/", "/v2/", 1))])
        if request.body.get("stream"):
            events = [(None if v.get("no_event_lines") else e["type"],
                       json.dumps(e, ensure_ascii=v.get("ascii", False),
                                  indent=v.get("indent")))
                      for e in _events(request, v)]
            return variation_reply(v, events)
        return variation_reply(v, body=_batch(request, v))
    return handle


VARIATIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "thinking_and_signature": {"thinking": True},
    "two_tool_uses": {"two_calls": True},
    "empty_partial_json_first": {"empty_first_piece": True},
    "ping_events": {"ping": True},
    "crlf": {"eol": "\r\n"},
    "data_no_space": {"space": False},
    "comments": {"comments": True},
    "no_event_lines": {"no_event_lines": True},
    "split_every_7_bytes": {"split": "bytes7", "thinking": True, "two_calls": True},
    "all_in_one_write": {"split": "one", "thinking": True},
    "charset_content_type": {"ctype": "text/event-stream; charset=utf-8"},
    "close_delimited": {"framing": "close"},
    "gzip": {"gzip": True},
    "stream_labelled_json": {"ctype": "application/json"},
    "stream_labelled_text_plain": {"ctype": "text/plain"},
    "redirect_307": {"redirect": True},
    "ascii_escaped_json": {"ascii": True},
    "ascii_escapes_split_every_7_bytes": {"ascii": True, "split": "bytes7"},
    "id_and_retry_fields": {"ids": True},
    "leading_bom": {"bom": True},
    "multi_line_data": {"indent": 1, "thinking": True},
    "crlf_split_every_7_bytes": {"eol": "\r\n", "split": "bytes7", "two_calls": True},
}


def _provider(url: str) -> Any:
    return teragent.create_provider(compiler="anthropic", adapter="anthropic_native",
                                    model="claude-i", base_url=url + "/v1", timeout=10)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", list(VARIATIONS))
def test_agent_runs_against_the_variation(name: str, stream: bool, tmp_path: Path) -> None:
    v = VARIATIONS[name]
    with IndependentServer(_handler(v)) as srv:
        provider = _provider(srv.url)

        result, modes = run_tool_agent(srv, provider, v, stream, tmp_path, [add])
        second = srv.requests[1].body
    check_tool_run(result, modes, stream, v, ANSWER)
    if v.get("thinking"):  # the signed thinking block goes back unchanged
        blocks = [b for m in second["messages"] if m["role"] == "assistant"
                  for b in m["content"] if isinstance(b, dict) and b["type"] == "thinking"]
        assert blocks == [{"type": "thinking", "thinking": "Let me add.",
                           "signature": "c2lnbmF0dXJl"}]


def _call(handler: Any, stream: bool) -> Any:
    async def call(url: str) -> Any:
        async with _provider(url) as provider:
            messages = [{"role": "user", "content": "hi"}]
            if stream:
                return [e async for e in provider.stream_chat(messages)]
            return await provider.complete(messages)

    with IndependentServer(handler) as srv:
        return asyncio.run(asyncio.wait_for(call(srv.url), 30))


def _overloaded(status: int = 200, **kw: Any) -> Any:
    return json_reply({"type": "error", "error": {"type": "overloaded_error",
                                                  "message": "Overloaded now"}}, status, **kw)


class _Answer:  # a request after a tool turn: the server answers with text
    body = {"stream": True,
            "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}


def test_a_stream_request_answered_with_a_whole_json_message_is_replayed() -> None:
    """A proxy that ignores ``"stream": true`` sends the whole message as JSON."""
    events = _call(lambda r: json_reply(_batch(_Answer, {})), True)
    assert events[-1].response.raw_text == ANSWER


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_an_error_object_with_http_200_names_the_servers_message(stream: bool) -> None:
    with pytest.raises(Exception, match="Overloaded now") as caught:
        _call(lambda r: _overloaded(), stream)
    assert "HTTP 200" in str(caught.value)


@pytest.mark.parametrize("split", ["event", "bytes7"])
@pytest.mark.parametrize("event_lines", [True, False], ids=["event_lines", "data_only"])
def test_an_error_event_mid_stream_is_raised_retryable(split: str, event_lines: bool) -> None:
    events = _events(_Answer, {})[:4] + [{"type": "error", "error": {
        "type": "overloaded_error", "message": "Overloaded now"}}]
    handler = lambda r: sse([(e["type"] if event_lines else None, json.dumps(e))  # noqa: E731
                             for e in events], split=split)
    with pytest.raises(Exception, match="Overloaded now") as caught:
        _call(handler, True)
    assert getattr(caught.value, "retryable", False)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("header", [("retry-after", "2"), ("retry-after-ms", "2000")])
def test_529_overloaded_is_retryable_with_the_servers_wait(header: tuple[str, str],
                                                           stream: bool) -> None:
    with pytest.raises(Exception, match="Overloaded now") as caught:
        _call(lambda r: _overloaded(529, headers=[header]), stream)
    assert caught.value.retryable and caught.value.retry_after == 2.0
    assert "HTTP 529" in str(caught.value)


def test_a_stream_kept_open_after_message_stop_still_ends() -> None:
    """A proxy that sends ``message_stop`` but never ends the chunked body."""
    def handle(request: Any) -> Any:
        reply = _handler({})(request)
        reply.hang = True
        return reply

    events = _call(lambda r: handle(_Answer), True)
    assert events[-1].response.raw_text == ANSWER


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_an_event_stream_under_another_content_type_is_read(content_type: str) -> None:
    """Direct, not through the agent (whose retry by ``send`` would hide a failure)."""
    events = _call(lambda r: _handler({"ctype": content_type})(_Answer), True)
    assert events[-1].response.raw_text == ANSWER


def test_a_surrogate_pair_split_between_deltas_is_one_character() -> None:
    """``"\\ud83d"`` then ``"\\ude00"`` in two ``text_delta``/``thinking_delta`` events."""
    events = [json.dumps(e) for e in _events(_Answer, {"thinking": True})]
    at = next(i for i, e in enumerate(events) if "text_delta" in e)
    think = next(i for i, e in enumerate(events) if "thinking_delta" in e)
    events[at] = events[at].replace('"}}', '\\ud83d"}}')  # the high half ends one delta
    events[at + 1] = events[at + 1].replace('"text": "', '"text": "\\ude00', 1)
    events[think] = events[think].replace('"}}', '\\ud83d\\ude00"}}')
    response = _call(lambda r: sse([(None, e) for e in events]), True)[-1].response
    assert response.raw_text == ANSWER[:4] + "😀" + ANSWER[4:]
    assert response.thinking_blocks[0]["thinking"] == "Let me add.😀"


def test_a_surrogate_pair_split_between_input_json_deltas_is_one_character() -> None:
    start = _events(_Answer, {})[0]
    pieces = ['{"s": "HIGH', 'LOW"}']
    events = [start, {"type": "content_block_start", "index": 0, "content_block": {
        "type": "tool_use", "id": "toolu_s", "name": "add", "input": {}}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {
        "type": "input_json_delta", "partial_json": p}} for p in pieces]
    events += [{"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 3}}, {"type": "message_stop"}]
    data = [json.dumps(e).replace("HIGH", "\\ud83d").replace("LOW", "\\ude00")
            for e in events]
    response = _call(lambda r: sse([(None, d) for d in data]), True)[-1].response
    assert response.tool_calls[0].arguments == {"s": "😀"}


@pytest.mark.parametrize("data", [
    {"type": "error", "error": {"type": "api_error", "message": "upstream died"}},
    {"type": "error", "error": "upstream died"},
    {"type": "error", "message": "upstream died"},
    "upstream died",
], ids=["documented", "error_string", "bare_message", "plain_text"])
def test_error_event_shapes_name_the_servers_words(data: Any) -> None:
    start = json.dumps(_events(_Answer, {})[0])
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(Exception, match="inside the stream: (api_error: )?upstream died") \
            as caught:
        _call(lambda r: sse([("message_start", start), ("error", text)]), True)
    assert getattr(caught.value, "retryable", False)
