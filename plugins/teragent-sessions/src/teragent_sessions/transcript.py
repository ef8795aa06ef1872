"""JSONL transcripts: one append-only file per session, one JSON object per line.

Every entry the store appends (each message, so each tool call and its result, and
each event such as ``compaction``) becomes a line::

    {"session": "bugfix", "seq": 3, "type": "message", "time": "2026-...Z",
     "message": {"role": "assistant", "content": "", "tool_calls": [...]}}
    {"session": "bugfix", "seq": 9, "type": "event", "event": "compaction", ...,
     "data": {"before_tokens": 2310, "after_tokens": 880, "removed": [...]}}

so ``jq -c 'select(.type=="event")' .teragent/transcripts/bugfix.jsonl`` lists the
compactions. The database is the source of truth; the file is a mirror for people and
tools, and :func:`export` rebuilds it from the database at any time. Strings that look
like credentials are redacted in transcripts and exports (never in the database, which
must give the conversation back as it was).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any, Callable, Iterable

from teragent.errors import UserError, redact

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no other process shares the file
    fcntl = None  # type: ignore[assignment]
from teragent_sessions.store import Entry, check_session_id

__all__ = ["TranscriptWriter", "export", "subscribe", "record_line", "EXPORT_FORMATS"]

EXPORT_FORMATS = ("jsonl", "json", "markdown")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


# Every credential shape teragent.errors.redact knows starts with one of these words:
# a line without any needs no scrubbing (most lines; scrubbing costs a regex per string).
_MAYBE_SECRET = re.compile(r"(?i)sk-|bearer|api[_-]?key|secret|token|password|authoriz")


def record_line(entry: Entry) -> str:
    """The transcript line of ``entry`` (redacted, no trailing newline)."""
    record = entry.as_record()
    line = json.dumps(record, ensure_ascii=False, default=str)
    if _MAYBE_SECRET.search(line):
        line = json.dumps(_scrub(record), ensure_ascii=False, default=str)
    return line


class TranscriptWriter:
    """Appends entries to ``<directory>/<session_id>.jsonl``.

    Each line is one ``write`` on a descriptor opened with ``O_APPEND``, under an
    exclusive ``flock`` of the file, so lines from several processes never interleave.
    A process killed inside a write can leave a torn last line (Linux stops a write at
    a page boundary when the writer gets SIGKILL; the crash test found it): the next
    write to that transcript, from any process, first cuts the file back to its last
    whole line. The descriptors of the most recently written sessions stay open
    (opening a file per line cost more than the database commit)."""

    def __init__(self, directory: str | os.PathLike[str], *, max_open: int = 64) -> None:
        self.directory = Path(directory)
        self.max_open = max(1, max_open)
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, session_id: str) -> Path:
        return self.directory / f"{check_session_id(session_id)}.jsonl"

    def _fd(self, session_id: str) -> int:
        fd = self._fds.get(session_id)
        if fd is not None:
            self._fds.move_to_end(session_id)
            return fd
        path = self.path(session_id)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o600)
        self._fds[session_id] = fd
        while len(self._fds) > self.max_open:
            os.close(self._fds.popitem(last=False)[1])
        return fd

    def write(self, entry: Entry) -> None:
        line = (record_line(entry) + "\n").encode("utf-8")
        with self._lock:
            fd = self._fd(entry.session_id)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _cut_torn_tail(fd)
                os.write(fd, line)
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def repair(self, session_id: str) -> None:
        """Cut a torn last line left by a crashed writer (writes do it anyway)."""
        with self._lock:
            fd = self._fd(session_id)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _cut_torn_tail(fd)
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def remove(self, session_id: str) -> None:
        with self._lock:
            fd = self._fds.pop(session_id, None)
            if fd is not None:
                os.close(fd)
            try:
                self.path(session_id).unlink()
            except FileNotFoundError:
                pass

    def close(self) -> None:
        with self._lock:
            while self._fds:
                os.close(self._fds.popitem()[1])


def _cut_torn_tail(fd: int) -> None:
    """Truncate the file behind ``fd`` after its last newline, if it does not end in
    one (a writer died mid-line). Called with the file locked."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            return
        end = start
    os.ftruncate(fd, 0)


def _markdown(entries: Iterable[Entry], out: IO[str]) -> int:
    n = 0
    for e in entries:
        n += 1
        if e.kind == "event":
            data = {k: v for k, v in e.data.items() if k != "event"}
            out.write(f"> *{e.data.get('event', 'event')}*: "
                      f"{json.dumps(_scrub(data), ensure_ascii=False, default=str)}\n\n")
            continue
        m = _scrub(e.data)
        role = m.get("role", "?")
        head = f"### {role}" + (f" ({m['name']})" if role == "tool" and m.get("name") else "")
        out.write(head + "\n\n")
        if m.get("content"):
            out.write(f"{m['content']}\n\n")
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call) if isinstance(call, dict) else {}
            out.write(f"- call `{fn.get('name', '?')}` {fn.get('arguments', '')}\n")
        if m.get("tool_calls"):
            out.write("\n")
    return n


def export(store: Any, session_id: str, out: IO[str], *, fmt: str = "jsonl") -> int:
    """Write the session's transcript to ``out`` from the store; returns the entries.

    Args:
        fmt: ``"jsonl"`` (the transcript format), ``"json"`` (the session's facts and
            its entries in one document) or ``"markdown"`` (for reading).
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; use one of "
                        f"{', '.join(EXPORT_FORMATS)}.")
    entries = store.entries(session_id)
    if fmt == "markdown":
        info = store.get_session(session_id)
        out.write(f"# {info.title or info.id}\n\n")
        return _markdown(entries, out)
    if fmt == "json":
        info = store.get_session(session_id)
        records = [_scrub(e.as_record()) for e in entries]
        json.dump({"session": _scrub(info.as_dict()), "entries": records}, out,
                  ensure_ascii=False, indent=2, default=str)
        out.write("\n")
        return len(records)
    n = 0
    for e in entries:
        out.write(record_line(e) + "\n")
        n += 1
    return n


#: Agent events recorded in the session: bus name → (recorded name, fields kept).
RECORDED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "compaction": ("compaction", None),  # every field: before/after tokens, what went
    "agent_start": ("run_start", ("task",)),
    "agent_done": ("run_end", ("total_steps",)),
    "agent_cancelled": ("run_cancelled", ("steps",)),
}


def subscribe(store: Any, bus: Any, session_id: str) -> Callable[[], None]:
    """Record the agent's events of :data:`RECORDED` in ``session_id`` on ``store``.

    Returns:
        A function that unsubscribes again."""
    offs = []
    for name, (recorded, fields) in RECORDED.items():
        def handler(*args: Any, _rec: str = recorded, _fields: Any = fields,
                    **kwargs: Any) -> None:
            data = kwargs if _fields is None else {k: kwargs[k] for k in _fields
                                                   if k in kwargs}
            if _rec == "run_end" and "result" in kwargs:
                data = {**data, "stop_reason": getattr(kwargs["result"], "stop_reason", "")}
            if args:
                data = {**data, "args": list(args)}
            store.save_event(session_id, _rec, data)
        offs.append(bus.on(name, handler))

    def off() -> None:
        for o in offs:
            o()
    return off
