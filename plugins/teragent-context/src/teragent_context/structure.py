"""The shape of a conversation that compaction must respect.

OpenAI-format conversations pair every assistant ``tool_calls`` entry with a ``tool``
message answering its id, right after it; vendors refuse a request with a tool result
whose call is gone, or a call left unanswered (OpenAI: HTTP 400). Compaction therefore
never cuts inside a *unit*: an assistant message with tool calls together with the tool
messages answering it is one unit; any other message is a unit of its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["units", "pairing_problem", "call_ids", "tool_names_by_id"]


def call_ids(message: dict[str, Any]) -> list[str]:
    """The ids of an assistant message's tool calls."""
    out = []
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and call.get("id") is not None:
            out.append(str(call["id"]))
    return out


def tool_names_by_id(messages: list[dict[str, Any]]) -> dict[str, str]:
    """``tool_call_id -> tool name`` over every assistant message."""
    out: dict[str, str] = {}
    for m in messages:
        for call in m.get("tool_calls") or ():
            if isinstance(call, dict):
                fn = call.get("function") or {}
                out[str(call.get("id"))] = str(fn.get("name") or call.get("name") or "tool")
    return out


def units(messages: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """``(start, end)`` index ranges (end exclusive) of the conversation's units."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(messages)
    while i < n:
        m = messages[i]
        j = i + 1
        if m.get("role") == "assistant" and m.get("tool_calls"):
            ids = set(call_ids(m))
            while j < n and messages[j].get("role") == "tool" and \
                    str(messages[j].get("tool_call_id")) in ids:
                j += 1
        out.append((i, j))
        i = j
    return out


def pairing_problem(messages: list[dict[str, Any]]) -> str | None:
    """What breaks the call/result pairing of ``messages`` (OpenAI's rules), or ``None``.

    A ``tool`` message must answer a call of the assistant message that opens its block
    of tool messages; every call of an assistant message must be answered before the
    next message that is not a tool result.
    """
    open_ids: set[str] = set()
    owner = -1
    for index, m in enumerate(messages):
        role = m.get("role")
        if role == "tool":
            cid = str(m.get("tool_call_id"))
            if owner < 0 or cid not in open_ids:
                return (f"messages[{index}] is a tool result ({cid}) that answers no "
                        "pending tool call of the assistant message before it")
            open_ids.discard(cid)
            continue
        if open_ids:
            return (f"messages[{owner}] has tool calls without results: "
                    f"{', '.join(sorted(open_ids))}")
        owner = -1
        if role == "assistant" and m.get("tool_calls"):
            open_ids = set(call_ids(m))
            owner = index
    if open_ids:
        return (f"messages[{owner}] has tool calls without results: "
                f"{', '.join(sorted(open_ids))}")
    return None
