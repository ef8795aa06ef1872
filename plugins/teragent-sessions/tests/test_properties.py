"""Properties: any JSON message round-trips exactly; a continued history never holds a
tool call without its result or a result without its call."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from teragent_sessions.sqlite import SessionPersistence
from teragent_sessions.store import continuable

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)
messages = st.dictionaries(st.text(min_size=1), json_values, max_size=6).map(
    lambda d: {"role": "user", **d})


def test_any_json_message_round_trips() -> None:
    with tempfile.TemporaryDirectory() as d:
        store = SessionPersistence(Path(d) / "s.db")  # one database, a session per example

        @settings(max_examples=100, deadline=None)
        @given(st.lists(messages, min_size=1, max_size=8))
        def round_trip(batch: list[dict[str, Any]]) -> None:
            sid = store.create()
            for m in batch:
                store.save_message(sid, m)
            assert store.restore(sid) == batch
        round_trip()
        store.close()


def _conversation(draw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["user", "system", "text", "calls", "result"]))
        if kind == "calls":
            ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1,
                                max_size=3, unique=True))
            out.append({"role": "assistant", "content": draw(st.sampled_from(["", "x"])),
                        "tool_calls": [{"id": f"{k}{i % 3}", "type": "function",
                                        "function": {"name": "t", "arguments": "{}"}}
                                       for k in ids]})
        elif kind == "result":
            out.append({"role": "tool", "tool_call_id": draw(st.sampled_from(
                ["a0", "b1", "c2", "d0", "a1"])), "content": "r"})
        elif kind == "text":
            out.append({"role": "assistant", "content": "t"})
        else:
            out.append({"role": kind, "content": "u"})
    return out


@settings(max_examples=300, deadline=None)
@given(st.composite(_conversation)())
def test_continuable_history_has_no_orphans(history: list[dict[str, Any]]) -> None:
    out = continuable(history)
    assert all(m["role"] != "system" for m in out)
    pending: list[str] = []  # calls of the last assistant message not yet answered
    for m in out:
        if m["role"] == "tool":
            # a result answers a call of the assistant message right before its run
            assert m["tool_call_id"] in pending, (m, out)
            pending.remove(m["tool_call_id"])
            continue
        assert pending == [], f"calls {pending} unanswered before {m}"
        if m["role"] == "assistant":
            assert m.get("content") or m.get("tool_calls"), m
            pending = [c["id"] for c in m.get("tool_calls") or []]
    assert pending == []
    # nothing else is dropped: users and plain answers stay, in order
    keep = [m for m in history if m["role"] == "user" or (
        m["role"] == "assistant" and not m.get("tool_calls"))]
    assert [m for m in out if m in keep] == keep
