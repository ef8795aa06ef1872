from __future__ import annotations

from hypothesis import given, strategies as st

from teragent_openai.sse import SSEDecoder

STREAM = (b": keep-alive\r\n\r\nevent: ping\ndata: {}\n\n"
          b"data: {\"text\": \"h\xc3\xa9llo\"}\r\n\r\n"
          b"id: 7\ndata: line one\ndata: line two\n\n"
          b"data: [DONE]\n\n")


def decode(chunks):
    d = SSEDecoder()
    out = []
    for c in chunks:
        out.extend(d.feed(c))
    out.extend(d.flush())
    return [(e.event, e.data, e.id) for e in out]


EXPECTED = [("ping", "{}", None), ("message", '{"text": "héllo"}', None),
            ("message", "line one\nline two", "7"), ("message", "[DONE]", "7")]


def test_decodes_whole_stream():
    assert decode([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_any_split_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks, prev = [], 0
    for p in points:
        chunks.append(STREAM[prev:p])
        prev = p
    chunks.append(STREAM[prev:])
    assert decode(chunks) == EXPECTED


def test_trailing_event_without_blank_line_is_flushed():
    assert decode([b"data: tail"]) == [("message", "tail", None)]
