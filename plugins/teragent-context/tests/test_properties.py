"""Properties of compaction over random conversations (hypothesis): whatever the
conversation, the result keeps every tool call paired with its result, the system
prompt, the task and the latest turns, and shrinks when it has to."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from teragent_context.compactor import AutoCompactor, Microcompactor
from teragent_context.structure import pairing_problem, units
from teragent_context.window import ContextWindow
from teragent_testing.fake_openai import openai_request_problem

from context_testkit import SummaryModel

_text = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs")),
                max_size=60).map(lambda s: s * 3)


@st.composite
def conversations(draw: Any) -> list[dict[str, Any]]:
    """system, task, then random turns: plain user/assistant messages and assistant
    messages with 1-3 tool calls, each answered by a tool message (any order)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": "SYSTEM PROMPT"},
                                 {"role": "user", "content": "THE TASK"}]
    n = draw(st.integers(0, 25))
    counter = 0
    for _ in range(n):
        kind = draw(st.sampled_from(["user", "assistant", "calls", "calls"]))
        if kind == "calls":
            k = draw(st.integers(1, 3))
            ids = [f"call_{counter + j}" for j in range(k)]
            counter += k
            out.append({"role": "assistant", "content": draw(_text), "tool_calls": [
                {"id": cid, "type": "function",
                 "function": {"name": f"tool{cid[-1]}", "arguments": "{}"}} for cid in ids]})
            order = draw(st.permutations(ids))
            for cid in order:
                size = draw(st.integers(0, 2000))
                out.append({"role": "tool", "tool_call_id": cid,
                            "content": draw(_text) + "x" * size})
        else:
            out.append({"role": kind, "content": draw(_text)})
    return out


def _compact(messages: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]] | None:
    window = ContextWindow(model_token_limit=kwargs.pop("limit", 1500))
    compactor = AutoCompactor(window, SummaryModel(), **kwargs)
    return asyncio.run(compactor.maybe_compact(messages, "SYSTEM PROMPT",
                                               force=kwargs.get("force", False)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.integers(1, 12), st.booleans())
def test_compaction_keeps_pairing_system_task_and_latest_turn(
        messages: list[dict[str, Any]], retain: int, force: bool) -> None:
    assert pairing_problem(messages) is None  # the generator makes valid conversations
    window = ContextWindow(model_token_limit=1500)
    compactor = AutoCompactor(window, SummaryModel(), retain_count=retain)
    out = asyncio.run(compactor.maybe_compact(messages, "SYSTEM PROMPT", force=force))
    if out is None:
        return
    assert pairing_problem(out) is None, out
    assert openai_request_problem({"messages": out}) is None
    assert out[0] == {"role": "system", "content": "SYSTEM PROMPT"}
    assert out[1] == {"role": "user", "content": "THE TASK"}
    # The latest unit survives verbatim, up to trimmed tool output.
    last_start = units(messages)[-1][0]
    latest = messages[last_start:]
    tail = out[-len(latest):]
    assert [m["role"] for m in tail] == [m["role"] for m in latest]
    for kept, orig in zip(tail, latest):
        if orig["role"] != "tool":
            assert kept == orig
        else:
            assert kept["tool_call_id"] == orig["tool_call_id"]
    # Never longer than the input.
    assert window.estimate(out) <= ContextWindow(1500).estimate(messages)


@settings(max_examples=100, deadline=None)
@given(conversations(), st.integers(0, 5), st.integers(0, 300))
def test_microcompaction_never_removes_a_message(messages: list[dict[str, Any]],
                                                 keep: int, min_chars: int) -> None:
    out, trimmed = Microcompactor(keep, min_chars).compact(messages)
    assert len(out) == len(messages)
    assert pairing_problem(out) is None
    assert [m["role"] for m in out] == [m["role"] for m in messages]
    tool_idx = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    for i in tool_idx[len(tool_idx) - keep if keep else len(tool_idx):]:
        assert out[i] == messages[i]  # the latest results stay whole
    assert trimmed == sum(1 for a, b in zip(out, messages) if a is not b)


@settings(max_examples=100, deadline=None)
@given(conversations())
def test_the_pairing_check_agrees_with_the_fake_openai_server(
        messages: list[dict[str, Any]]) -> None:
    # Break the conversation at a random tool message; both checks must notice.
    tools = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    assert pairing_problem(messages) is None
    assert openai_request_problem({"messages": messages}) is None
    if tools:
        broken = messages[:tools[0] - 1] + messages[tools[0]:]
        # Removing the assistant message orphans its results.
        if messages[tools[0] - 1]["role"] == "assistant":
            assert pairing_problem(broken) is not None
            assert openai_request_problem({"messages": broken}) is not None
