"""Property: any split of a recorded SSE byte stream yields the same TAPResponse."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.core.types import ToolCallReady
from teragent_testing.fake_openai import ScriptedReply, encode_stream

from .helpers import stream_response

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
           "stream_options": {"include_usage": True}}
REPLY = ScriptedReply(
    text="Héllo wörld — 你好 🙂 with\r\nline breaks", reasoning="think ✓",
    tool_calls=[("read_file", {"path": "ä/b.py"}), ("grep", {"pattern": "x\ny", "n": [1, 2]})],
    usage={"prompt_tokens": 9, "completion_tokens": 4, "cached_tokens": 3}, chunk_size=3)
RECORDED = b"".join(encode_stream(REPLY, REQUEST))
# The same stream with CRLF line endings and comment/keep-alive lines, which real
# servers send too.
RECORDED_CRLF = b": keep-alive\r\n\r\n" + RECORDED.replace(b"\n", b"\r\n")


def _key(response):  # type: ignore[no-untyped-def]
    return (response.raw_text, [(c.id, c.name, c.arguments, c.parse_error)
                                for c in response.tool_calls],
            response.usage, response.finish_reason, response.cache_hit_tokens,
            response.thinking_content)


EXPECTED = _key(stream_response([RECORDED])[1])


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return out


def test_reference_reading() -> None:
    text, calls, usage, finish, cached, thinking = EXPECTED
    assert text == REPLY.text and thinking == REPLY.reasoning
    assert [(c[1], c[2]) for c in calls] == [(n, a) for n, a, *_ in REPLY.tool_calls]
    assert usage == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert (finish, cached) == ("tool_calls", 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=40),
       crlf=st.booleans())
def test_any_chunk_split_gives_same_response(cuts: list[int], crlf: bool) -> None:
    data = RECORDED_CRLF if crlf else RECORDED
    events, response = stream_response(_split(data, cuts))
    assert _key(response) == EXPECTED
    assert [e.index for e in events if isinstance(e, ToolCallReady)] == [0, 1]


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=1, max_value=64))
def test_fixed_size_chunks(size: int) -> None:
    chunks = [RECORDED[i:i + size] for i in range(0, len(RECORDED), size)]
    assert _key(stream_response(chunks)[1]) == EXPECTED
