"""Writing traces: records queued, then encoded, redacted and appended in batches.

A model call only snapshots what its run may change later; the records are encoded
(:mod:`teragent_traces.records`) in a batch, looked over once for a sign of a secret
(redacted line by line only when there is one), and appended to ``traces.jsonl`` in one
``os.write`` of whole lines on an ``O_APPEND`` descriptor (files ``0600``, directory
``0700``). Queued lines are written at exit too (:func:`flush_all`).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import weakref
from pathlib import Path
from typing import Any

from teragent.errors import redact
from teragent.secrets import is_secret_name
from teragent_traces.records import (_COMPACT, _REQUEST, _RESPONSE, TRACE_FILE,
                                     DataConstitution, PromptDeltas, _monotonic,
                                     _record_line, _response_line)

#: Queued records are encoded and written once this many have gathered (or a second
#: has passed, or a reader, a checklist or the exit needs them): a write per call
#: stalled the event loop when the disk was busy, and encoding in a batch runs with
#: warm caches (about a third of the per-call cost). A call only snapshots what the
#: run may change later (see ``record_request``/``record_response``).
WRITE_RECORDS = 128

_LIVE: "weakref.WeakSet[TraceWriter]" = weakref.WeakSet()


@atexit.register
def flush_all() -> None:
    """Write every tracer's queued lines and close its file (run at exit too)."""
    for tracer in list(_LIVE):
        tracer.close()


class TraceWriter:
    """The writing half of :class:`~teragent_traces.tracer.TAPTracer`: the queue, the
    redaction and the file.

    Args:
        trace_dir: Where ``traces.jsonl`` lives (created, mode ``0700``, on the first
            write).
        constitution: The :class:`DataConstitution` (``redact_secrets`` is read here).
    """

    def __init__(self, trace_dir: str | os.PathLike[str],
                 constitution: DataConstitution | None = None) -> None:
        self.trace_dir = Path(trace_dir)
        self.constitution = constitution or DataConstitution()
        self.path = self.trace_dir / TRACE_FILE
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._queue: list[tuple[Any, ...]] = []
        self._written = _monotonic()
        _LIVE.add(self)  # queued lines are written at exit
        self._deltas = PromptDeltas()
        self._secrets = tuple(sorted(
            {v for k, v in os.environ.items() if len(v) >= 8 and is_secret_name(k)},
            key=len, reverse=True))
        self._secret_bytes = tuple(v.encode("utf-8") for v in self._secrets)

    # --- writing ------------------------------------------------------------------
    #
    # Records are queued, then encoded and written in one os.write of whole lines on an
    # O_APPEND descriptor (see _append for when): no thread (a writer thread cost more
    # wall time than it saved, through GIL hand-offs; see docs/decisions/traces.md).

    def _open(self) -> int:  # called with the lock held
        if self._fd is None:
            self.trace_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, self._secrets) if len(value) >= 8 else value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        return value

    def _suspect(self, data: bytes) -> bool:
        """Whether ``data`` may hold a secret: a known secret value, or a word any of
        ``redact``'s patterns needs. Most lines have neither and skip the regexes
        (which are most of a trace's cost otherwise)."""
        for value in self._secret_bytes:
            if value in data:
                return True
        lower = data.lower()
        return (b"key" in lower or b"token" in lower or b"secret" in lower
                or b"sk-" in lower or b"bearer" in lower or b"password" in lower
                or b"authorization" in lower)

    def _redacted(self, line: bytes) -> bytes:
        """``line`` with its secrets redacted. Record keys never look like a secret's
        name (token counts are ``usage.prompt``, not ``prompt_tokens``), so a line with
        no sign of a secret skips the regexes. When redaction changed the line it must
        still parse, else every string is redacted on its own."""
        if not self._suspect(line):
            return line
        text = line.decode("utf-8")
        cleaned = redact(text, self._secrets) or ""
        if cleaned == text:
            return line
        try:
            json.loads(cleaned)
        except ValueError:
            cleaned = _COMPACT.encode(self._clean(json.loads(text)))
        return cleaned.encode("utf-8")

    def _append(self, entry: tuple[Any, ...]) -> None:
        """Queue a record (a tuple: :data:`_REQUEST`, :data:`_RESPONSE` or
        :data:`_RECORD` first). Records are encoded, redacted and written together,
        in order (:data:`WRITE_RECORDS` of them, a second after the last write, or
        when a checklist, a read or the exit needs them): the work runs in one batch
        with warm caches instead of a little on every model call, which only
        snapshots what it must (the values a run may change later)."""
        with self._lock:
            queue = self._queue
            queue.append(entry)
            now = _monotonic()
            if len(queue) >= WRITE_RECORDS or now - self._written >= 1.0:
                self._write_held(now)

    def _write_held(self, now: float) -> None:  # with the lock held
        queue = self._queue
        if queue:
            # Each line, and what may hold a secret: its content (prompt delta,
            # answer) and the strings of its head a caller chose (task, intent,
            # provider, model, finish reason); ids, times, hashes and counts are ours.
            lines: list[bytes] = []
            content: list[bytes] = []
            names: list[Any] = []
            request_line = self._deltas.request_line
            for entry in queue:
                try:
                    kind, a, b, c, d, e, f, g, h = entry
                    if kind is _REQUEST:
                        line, part = request_line(a, b, c, d, e, f, g, h)
                        names += b, d, e, f
                    elif kind is _RESPONSE:
                        line, part = _response_line(a, b, c, d, e, f, g, h)
                        names += b, d, f
                    else:
                        line = part = _record_line(a, b)
                    lines.append(line)
                    content.append(part)
                except Exception:  # noqa: BLE001 - a tracer never breaks a run
                    import logging

                    logging.getLogger("teragent.traces").exception(
                        "could not encode trace record %s", entry[1])
            queue.clear()
            if lines:
                data = b"\n".join(lines) + b"\n"
                # One look for a secret's sign over the whole batch; only a batch
                # that has one is redacted line by line (whole lines).
                try:
                    unique = set(names)  # a handful: the same provider, model, ...
                except TypeError:  # an unhashable one
                    unique = set(map(str, names))
                unique.discard(None)
                if self.constitution.redact_secrets and self._suspect(
                        b"\n".join(content) + "\n".join(map(str, unique)).encode("utf-8")):
                    data = b"\n".join([self._redacted(line) for line in lines]) + b"\n"
                fd = self._open()
                view = memoryview(data)
                while view:  # O_APPEND: whole lines; a short write goes on
                    view = view[os.write(fd, view):]
        self._written = now

    def flush(self) -> None:
        """Write every queued line now."""
        with self._lock:
            self._write_held(_monotonic())

    def close(self) -> None:
        """Write what is held and close the file (reopened on the next record)."""
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
