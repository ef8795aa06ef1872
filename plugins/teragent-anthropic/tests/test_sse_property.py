"""Property: any split of the fake server's SSE bytes reassembles to the same response."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from teragent_openai.sse import SSEDecoder
from teragent.core.types import StreamFinished
from teragent_anthropic.response import parse_message
from teragent_anthropic.stream import MessagesStreamAssembler
from teragent_testing.fake_anthropic import encode_message, encode_message_stream
from teragent_testing.fake_openai import ScriptedReply

REPLY = ScriptedReply(text="héllo wörld ✓ 你好", reasoning="thinking…", chunk_size=3,
                      tool_calls=[("a", {"x": [1, 2]}), ("b", {"y": "z"})],
                      usage={"prompt_tokens": 10, "completion_tokens": 4, "cached_tokens": 3})
REQUEST: dict[str, Any] = {"model": "m", "messages": []}
BLOB = b"".join(encode_message_stream(REPLY, REQUEST))


def _summary(response: Any) -> Any:
    return (response.raw_text, response.thinking_content, response.finish_reason,
            [(c.id, c.name, c.arguments) for c in response.tool_calls],
            response.usage, response.cache_hit_tokens)


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(BLOB)), max_size=30))
def test_any_chunk_split_gives_the_same_response(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [BLOB[a:b] for a, b in zip([0, *points], [*points, len(BLOB)])]
    decoder, asm = SSEDecoder(), MessagesStreamAssembler(model="m")
    for chunk in chunks:
        for event in decoder.feed(chunk):
            asm.feed_sse(event.event, event.data)
    for event in decoder.flush():
        asm.feed_sse(event.event, event.data)
    final = asm.finish()[-1]
    assert isinstance(final, StreamFinished)
    expected = parse_message(json.loads(encode_message(REPLY, REQUEST)), "m")
    assert _summary(final.response) == _summary(expected)
