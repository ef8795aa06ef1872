"""The session-store seam: what every backend (SQLite here; PostgreSQL, Redis later)
implements, and the helpers they share.

A store keeps, per session, an append-only sequence of *entries*: messages (what
:meth:`SessionStore.restore` gives back) and events (compaction records, run
boundaries) that only the transcript and :meth:`SessionStore.entries` show. Every
backend runs :mod:`teragent_sessions.contract` against itself.

Errors::

    UserError (teragent.errors)
    ├── InvalidSessionId     a session id that is not a safe name (says which are)
    └── UnknownSessionError  also a KeyError; names ``teragent sessions list``
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Protocol, runtime_checkable

from teragent.errors import UserError

__all__ = ["SessionStore", "SessionInfo", "Entry", "InvalidSessionId", "UnknownSessionError",
           "check_session_id", "continuable", "title_from"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class InvalidSessionId(UserError):
    """A session id that cannot be stored (ids name transcript files, so they are
    restricted to safe file names)."""


class UnknownSessionError(UserError, KeyError):
    """No session has this id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def check_session_id(session_id: str) -> str:
    """``session_id`` if it is a safe name, else :class:`InvalidSessionId` saying why."""
    if not isinstance(session_id, str) or not _ID.match(session_id):
        raise InvalidSessionId(
            f"session id {session_id!r} is not valid: use 1-128 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'bugfix-42').")
    return session_id


@dataclass
class SessionInfo:
    """One session as :meth:`SessionStore.list_sessions` reports it."""

    id: str
    title: str = ""
    intent: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    message_count: int = 0
    #: Model steps taken in the session (each saved assistant message is one, plus
    #: whatever :meth:`SessionStore.add_steps` recorded).
    step_count: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __getitem__(self, key: str) -> Any:  # sessions[0]["id"] works as with dicts
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


@dataclass
class Entry:
    """One entry of a session: ``kind`` is ``"message"`` or ``"event"``; ``seq`` counts
    from 1 within the session; ``ts`` is a Unix time."""

    session_id: str
    seq: int
    kind: str
    ts: float
    data: dict[str, Any]

    def as_record(self) -> dict[str, Any]:
        """The transcript line (one JSON object; ``jq 'select(.type=="message")'``)."""
        from datetime import datetime, timezone

        record: dict[str, Any] = {
            "session": self.session_id, "seq": self.seq, "type": self.kind,
            "time": datetime.fromtimestamp(self.ts, timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")}
        if self.kind == "message":
            record["message"] = self.data
        else:
            record["event"] = self.data.get("event", "")
            record["data"] = {k: v for k, v in self.data.items() if k != "event"}
        return record


@runtime_checkable
class SessionStore(Protocol):
    """What the composition root, the CLI and the service need from a store.

    Stores are synchronous (each call is one short transaction) and safe to call from
    several threads; a message whose :meth:`save_message` returned is durable.
    """

    def create(self, title: str = "", intent: str = "chat", *,
               session_id: str | None = None,
               metadata: dict[str, Any] | None = None) -> str:
        """A new session; returns its id (``session_id`` if given, else a fresh one).
        Raises :class:`InvalidSessionId`, or ``UserError`` when the id exists."""
        ...

    def save_message(self, session_id: str, message: dict[str, Any]) -> int:
        """Append ``message`` (a chat message dict) and return its ``seq``; durable on
        return. Raises :class:`UnknownSessionError`."""
        ...

    def save_event(self, session_id: str, event: str, data: dict[str, Any]) -> int:
        """Append an event (e.g. ``"compaction"``) to the session's transcript."""
        ...

    def save_checkpoint(self, session_id: str, messages: list[dict[str, Any]]) -> int:
        """Record the compacted conversation; :meth:`resume` continues from the latest
        checkpoint plus the messages saved after it."""
        ...

    def restore(self, session_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The session's messages in order (the last ``limit`` if given)."""
        ...

    def entries(self, session_id: str) -> Iterator[Entry]:
        """Every entry (messages and events) in order, for transcripts and export."""
        ...

    def list_sessions(self, *, intent: str | None = None,
                      limit: int | None = None) -> list[SessionInfo]:
        """Sessions, most recently updated first."""
        ...

    def get_session(self, session_id: str) -> SessionInfo:
        """One session's facts. Raises :class:`UnknownSessionError`."""
        ...

    def add_steps(self, session_id: str, steps: int = 1) -> int:
        """Add to the session's step count; returns the new count."""
        ...

    def delete(self, session_id: str) -> bool:
        """Remove the session and its entries; ``False`` if there was none."""
        ...

    def resume(self, session_id: str | None = None, *, intent: str = "run",
               limit: int | None = None) -> tuple[str, list[dict[str, Any]]]:
        """Continue ``session_id`` (created if new; a fresh one if ``None``): its id and
        the history to put before the next task (see :func:`continuable`)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def title_from(message: dict[str, Any]) -> str:
    """A session title from its first user message: the first line, at most 80 chars."""
    content = message.get("content")
    if isinstance(content, list):  # multimodal parts
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = " ".join(str(content or "").split())
    return text if len(text) <= 80 else text[:79] + "…"


def continuable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history a continued conversation starts from.

    System messages are dropped (the agent writes its own). Providers require an
    assistant message's tool calls to be answered by the tool messages right after it,
    so a call whose result is not among them is dropped (a run killed between the
    model's tool call and the tool's result), and so is a result that does not answer
    a call just before it. An assistant message left with neither calls nor text goes.
    """
    out: list[dict[str, Any]] = []
    i, n = 0, len(messages)
    while i < n:
        m = messages[i]
        role = m.get("role")
        if role == "system" or role == "tool":
            i += 1  # a tool message reaching here answers no call right before it
            continue
        if role != "assistant" or not m.get("tool_calls"):
            out.append(m)
            i += 1
            continue
        j, results = i + 1, []
        while j < n and messages[j].get("role") in ("tool", "system"):
            if messages[j].get("role") == "tool":
                results.append(messages[j])
            j += 1
        answered = {r.get("tool_call_id") for r in results}
        calls, ids = [], set()
        for c in m["tool_calls"]:
            cid = _call_id(c)
            if cid in answered and cid not in ids:
                calls.append(c)
                ids.add(cid)
        if calls:
            out.append(m if len(calls) == len(m["tool_calls"]) else {**m, "tool_calls": calls})
        elif m.get("content"):
            out.append({k: v for k, v in m.items() if k != "tool_calls"})
        for r in results:
            if r.get("tool_call_id") in ids:
                out.append(r)
                ids.discard(r.get("tool_call_id"))  # one result per call
        i = j
    return out


def _call_id(call: Any) -> Any:
    if isinstance(call, dict):
        return call.get("id")
    return getattr(call, "id", None)


Subscriber = Callable[..., Any]
