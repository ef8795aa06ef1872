"""Chat Completions answers for :mod:`teragent_testing.independent_server`, written from
the OpenAI Chat Completions reference and the vendors' documented deviations, shared by
every plugin whose adapter speaks that wire (OpenAI-compatible, DeepSeek, GLM, MiniMax).

:func:`handler` answers an agent's two turns (a tool call to ``add``, then :data:`ANSWER`)
batch or streamed, shaped by a *variation* (a dict of options): the framing options of
:func:`~teragent_testing.independent_server.variation_reply` plus the Chat Completions
dialect options below. :data:`VARIATIONS` names the ones real servers and proxies
produce. Dialect options:

- ``reasoning``: the field carrying the thinking: ``reasoning_content`` (DeepSeek, GLM,
  vLLM), ``reasoning`` (Ollama, OpenRouter) or ``reasoning_details`` (MiniMax with
  ``reasoning_split``: a list of ``{"type": "reasoning.text", "text": ...}``); streamed
  in two deltas, ``"think"`` then ``"ing"`` (``details_cumulative``: the second delta
  carries the whole text so far, as MiniMax's docs show it).
- ``think_tags``: the thinking inside ``content`` as a leading ``<think>…</think>`` block
  (MiniMax without ``reasoning_split``), on both turns; streamed 4 characters a delta,
  so the tags themselves are split.
- ``two_calls``, ``calls`` (``whole_no_index``, ``args_object``, ``repeat_head``),
  ``no_index``, ``finish``, ``no_finish_key``, ``usage``, ``content_null``, ``azure``,
  ``no_choices_chunk``, ``redirect``, ``no_done``, ``event``, ``ascii``, ``indent``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

from teragent_testing.agent_harness import add
from teragent_testing.independent_server import (
    IndependentServer, Reply, Request, check_tool_run, run_tool_agent, variation_reply,
)

__all__ = ["ANSWER", "THINKING", "VARIATIONS", "FAMILY_SUBSET", "chunks", "batch", "handler",
           "answer_once", "run_variation", "check_thinking"]

ANSWER = "Sums: 5 and 12. Grüße ✓ 日本 😀"  # multi-byte characters, split by "bytes7"
THINKING = "thinking"


def _tool_turns(request: Request) -> int:
    return sum(m.get("role") == "tool" for m in request.body.get("messages", []))


def _reasoning(v: dict[str, Any], text: str) -> dict[str, Any]:
    field = v["reasoning"]
    if field == "reasoning_details":
        return {field: [{"type": "reasoning.text", "text": text}]}
    return {field: text}


def _think(v: dict[str, Any]) -> str:
    return f"<think>{THINKING}</think>\n\n" if v.get("think_tags") else ""


def chunks(request: Request, v: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream's chunks (JSON objects) for this turn of the agent."""
    base = {"id": "chatcmpl-i", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if finish is not None or not v.get("no_finish_key"):
            choice["finish_reason"] = finish
        return dict(base, choices=[choice])

    def text(content: str) -> list[dict[str, Any]]:
        return [chunk({"content": content[i:i + 4]}) for i in range(0, len(content), 4)]

    out = [chunk({"role": "assistant", "content": None if v.get("content_null") else ""})]
    if v.get("reasoning"):
        out.append(chunk(_reasoning(v, THINKING[:5])))
        out.append(chunk(_reasoning(v, THINKING if v.get("details_cumulative")
                                    else THINKING[5:])))
    if v.get("azure"):  # Azure OpenAI: content-filter results before any choice
        out.insert(0, dict(base, model="", choices=[], prompt_filter_results=[
            {"prompt_index": 0, "content_filter_results": {}}]))
    if v.get("no_choices_chunk"):
        out.append(dict(base))
    if _tool_turns(request) == 0:
        out += text(_think(v))
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
            for index, call_id, args in calls:
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
        out += text(_think(v) + ANSWER)
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


def batch(request: Request, v: dict[str, Any]) -> dict[str, Any]:
    """The whole ``chat.completion`` object for this turn of the agent."""
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
        if v.get("think_tags"):
            message["content"] = _think(v)
        finish = "tool_calls"
    else:
        message["content"] = _think(v) + ANSWER
        finish = "stop"
    if v.get("reasoning"):
        message.update(_reasoning(v, THINKING))
    return {"id": "i", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


def handler(v: dict[str, Any]) -> Callable[[Request], Reply]:
    """The server's handler for variation ``v`` (streams when the request asks)."""
    def handle(request: Request) -> Reply:
        if v.get("redirect") and request.path.startswith("/v1/"):  # a moved API root
            return Reply(307, [("Location", request.path.replace("/v1/", "/v2/", 1))])
        if request.body.get("stream"):
            events = [(v.get("event"), json.dumps(c, ensure_ascii=v.get("ascii", False),
                                                  indent=v.get("indent")))
                      for c in chunks(request, v)]
            if not v.get("no_done"):
                events.append((v.get("event"), "[DONE]"))
            return variation_reply(v, events)
        return variation_reply(v, body=batch(request, v))
    return handle


def answer_once(make_provider: Callable[[str], Any], v: dict[str, Any], stream: bool) -> Any:
    """One call answered as after a tool turn (text), by a provider made from the
    server's URL: the final ``TAPResponse``."""
    async def call(url: str) -> Any:
        provider = make_provider(url)
        messages = [{"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "c", "content": "5"}]
        async with provider:
            if stream:
                return [e async for e in provider.stream_chat(messages)][-1].response
            return await provider.complete(messages)

    with IndependentServer(handler(v)) as srv:
        return asyncio.run(asyncio.wait_for(call(srv.url), 30))


def run_variation(make_provider: Callable[[str], Any], v: dict[str, Any], stream: bool,
                  workspace: Any) -> list[Request]:
    """An agent (the harness's ``add`` tool) on a provider made from the server's URL runs
    its tool turn and answer against variation ``v``, checked by
    :func:`~teragent_testing.independent_server.check_tool_run`; the requests it sent."""
    with IndependentServer(handler(v)) as srv:
        result, modes = run_tool_agent(srv, make_provider(srv.url), v, stream, workspace,
                                       [add])
    check_tool_run(result, modes, stream, v, ANSWER)
    return srv.requests


def check_thinking(make_provider: Callable[[str], Any], v: dict[str, Any],
                   stream: bool) -> None:
    """The answer's thinking (sent as ``v`` says) is :data:`THINKING`, kept out of the
    text, which is :data:`ANSWER` exactly."""
    response = answer_once(make_provider, v, stream)
    assert (response.thinking_content, response.raw_text) == (THINKING, ANSWER)


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
    "reasoning_details": {"reasoning": "reasoning_details"},
    "reasoning_details_cumulative": {"reasoning": "reasoning_details",
                                     "details_cumulative": True},
    "think_tags": {"think_tags": True},
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

#: The subset every family plugin on this wire runs through its own adapter.
FAMILY_SUBSET = ["plain", "crlf", "split_every_7_bytes", "no_done_chunked",
                 "two_calls_interleaved", "whole_calls_without_index", "arguments_as_object",
                 "reasoning_content", "gzip", "stream_labelled_json",
                 "ascii_escapes_split_every_7_bytes"]
