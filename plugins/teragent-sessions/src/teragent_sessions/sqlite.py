"""``SessionPersistence``: sessions in one SQLite database (WAL, append-only).

Why SQLite in WAL mode (see ``docs/decisions/sessions.md`` for the measurements):
saving a message is one small transaction that appends a row, so the cost does not
grow with the session (the upstream rewrote a JSON file per message: quadratic). A
message whose :meth:`~SessionPersistence.save_message` returned is committed to the
WAL file; with ``durability="process"`` (``synchronous=NORMAL``) it survives a crash
or SIGKILL of the process, with ``"power"`` (``synchronous=FULL``) a power cut too.

Entries are never updated (a trigger refuses it); deleting a session is the only
removal. Several processes may share the database (the CLI and a service): writers
wait up to ``busy_timeout`` seconds for each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from teragent.errors import UserError
from teragent_sessions.store import (
    Entry, SessionInfo, UnknownSessionError, check_session_id, continuable, title_from,
)

__all__ = ["SessionPersistence"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    intent TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    extra_steps INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS entries (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'event')),
    role TEXT,
    ts REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS entries_append_only BEFORE UPDATE ON entries
BEGIN
    SELECT RAISE(ABORT, 'session entries are append-only');
END;
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class SessionPersistence:
    """Sessions on SQLite: the documented ``teragent.session.SessionPersistence``.

    Example::

        persistence = SessionPersistence(db_path=".agent/sessions.db")
        session_id = persistence.create(title="My Session", intent="chat")
        persistence.save_message(session_id, {"role": "user", "content": "hi"})
        messages = persistence.restore(session_id)
        sessions = persistence.list_sessions()

    Args:
        db_path: The database file (its directory is created). ``":memory:"`` works
            for tests but is private to this object.
        transcript_dir: If given, every entry is also appended to
            ``<transcript_dir>/<session_id>.jsonl`` (see :mod:`teragent_sessions.
            transcript`).
        durability: ``"process"`` (default) or ``"power"``; see the module docstring.
        busy_timeout: Seconds a writer waits for another process's transaction.
        restore_limit: How many latest messages :meth:`resume` brings back by default
            (0: all).
    """

    def __init__(self, db_path: str | os.PathLike[str] = ".teragent/sessions.db", *,
                 transcript_dir: str | os.PathLike[str] | None = None,
                 durability: str = "process", busy_timeout: float = 10.0,
                 restore_limit: int = 0) -> None:
        if durability not in ("process", "power"):
            raise UserError(f"durability must be 'process' or 'power', not {durability!r}.")
        self.db_path = os.fspath(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.durability = durability
        self.restore_limit = int(restore_limit)
        self._closed = False
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, timeout=busy_timeout,
                                   isolation_level=None, check_same_thread=False)
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise UserError(f"cannot open the session database {self.db_path!r}: {exc}. "
                            "Move the file away (sessions in it are lost) or point "
                            "[session] path elsewhere.") from exc
        self.transcripts = None
        if transcript_dir is not None:
            from teragent_sessions.transcript import TranscriptWriter

            self.transcripts = TranscriptWriter(transcript_dir)

    def _setup(self) -> None:
        db = self._db
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if self.db_path != ":memory:" and str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"WAL mode unavailable (journal_mode={mode})")
        db.execute("PRAGMA synchronous=%s" % ("FULL" if self.durability == "power"
                                              else "NORMAL"))
        db.execute("PRAGMA foreign_keys=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this plugin's {SCHEMA_VERSION}; "
                "upgrade teragent-sessions")
        if version < SCHEMA_VERSION:
            with self._tx():
                for stmt in _split(_SCHEMA):
                    db.execute(stmt)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- transactions -----------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front (``BEGIN IMMEDIATE``
        waits up to ``busy_timeout`` for another process instead of failing later)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- sessions ---------------------------------------------------------------

    def create(self, title: str = "", intent: str = "chat", *,
               session_id: str | None = None,
               metadata: dict[str, Any] | None = None) -> str:
        """Create a session and return its id (a fresh hex id unless ``session_id``)."""
        sid = check_session_id(session_id) if session_id is not None else uuid.uuid4().hex
        now = time.time()
        try:
            with self._tx() as db:
                db.execute("INSERT INTO sessions(id, title, intent, created_at, metadata) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (sid, str(title or ""), str(intent or ""), now,
                            _dumps(metadata or {})))
        except sqlite3.IntegrityError:
            raise UserError(f"session {sid!r} exists already; continue it (teragent run "
                            f"--session {sid}) or choose another id.") from None
        return sid

    def exists(self, session_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM sessions WHERE id=?", (session_id,)))

    # Counts, update time and an untitled session's title are derived from the entries:
    # an append then writes one b-tree (the entries'), not a summary row as well, which
    # measured 3x slower per message (docs/decisions/sessions.md).
    _SELECT = (
        "SELECT s.id, s.title, s.intent, s.created_at, COALESCE(MAX(e.ts), s.created_at) "
        "AS updated, COUNT(e.seq) FILTER (WHERE e.kind = 'message'), "
        "s.extra_steps + COUNT(e.seq) FILTER (WHERE e.kind = 'message' AND e.role = "
        "'assistant'), s.metadata, "
        "CASE WHEN s.title = '' THEN (SELECT f.data FROM entries f WHERE f.session_id = "
        "s.id AND f.kind = 'message' AND f.role = 'user' ORDER BY f.seq LIMIT 1) END "
        "FROM sessions s LEFT JOIN entries e ON e.session_id = s.id")

    def _info(self, row: tuple[Any, ...]) -> SessionInfo:
        title = row[1] or (title_from(json.loads(row[8])) if row[8] else "")
        return SessionInfo(id=row[0], title=title, intent=row[2], created_at=row[3],
                           updated_at=row[4], message_count=row[5], step_count=row[6],
                           metadata=json.loads(row[7] or "{}"))

    def get_session(self, session_id: str) -> SessionInfo:
        rows = self._read(f"{self._SELECT} WHERE s.id = ? GROUP BY s.id", (session_id,))
        if not rows:
            raise self._unknown(session_id)
        return self._info(rows[0])

    def list_sessions(self, *, intent: str | None = None,
                      limit: int | None = None) -> list[SessionInfo]:
        """Sessions, most recently updated first (``intent`` filters)."""
        sql, args = self._SELECT, ()  # type: tuple[str, tuple[Any, ...]]
        if intent is not None:
            sql, args = sql + " WHERE s.intent = ?", (intent,)
        sql += " GROUP BY s.id ORDER BY updated DESC, s.rowid DESC"
        if limit is not None:
            sql, args = sql + " LIMIT ?", (*args, int(limit))
        return [self._info(r) for r in self._read(sql, args)]

    def _unknown(self, session_id: str) -> UnknownSessionError:
        return UnknownSessionError(
            f"no session {session_id!r} in {self.db_path}; `teragent sessions list` shows "
            "the sessions there, and create() or `teragent run --session NAME` starts one.")

    def delete(self, session_id: str) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM entries WHERE session_id=?", (session_id,))
            gone = db.execute("DELETE FROM sessions WHERE id=?", (session_id,)).rowcount
        if gone and self.transcripts is not None:
            self.transcripts.remove(session_id)
        return bool(gone)

    # --- appending --------------------------------------------------------------

    def _append(self, session_id: str, kind: str, data: dict[str, Any],
                role: str | None = None) -> int:
        if not isinstance(data, dict):
            raise UserError(f"a session {kind} must be a dict (e.g. {{'role': 'user', "
                            f"'content': 'hi'}}), not {type(data).__name__}.")
        payload = _dumps(data)
        now = time.time()
        try:
            with self._tx() as db:
                # One statement: the next seq and the row, under the write lock.
                row = db.execute(
                    "INSERT INTO entries(session_id, seq, kind, role, ts, data) "
                    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM entries "
                    "WHERE session_id = ? RETURNING seq",
                    (session_id, kind, role, now, payload, session_id)).fetchone()
        except sqlite3.IntegrityError:  # the foreign key: no such session
            raise self._unknown(session_id) from None
        seq = int(row[0])
        if self.transcripts is not None:
            self.transcripts.write(Entry(session_id, seq, kind, now, data))
        return seq

    def save_message(self, session_id: str, message: dict[str, Any]) -> int:
        """Append ``message``; returns its sequence number. Durable on return.

        An untitled session is titled by its first user message; each assistant
        message counts one step."""
        role = message.get("role") if isinstance(message, dict) else None
        return self._append(session_id, "message", message,
                            role=str(role) if role is not None else None)

    def save_event(self, session_id: str, event: str, data: dict[str, Any] | None = None) -> int:
        """Append an event (``"compaction"``, ``"run_start"``, ...) to the session."""
        return self._append(session_id, "event", {"event": str(event), **(data or {})},
                            role=str(event))

    def save_checkpoint(self, session_id: str, messages: list[dict[str, Any]]) -> int:
        """Record the conversation as it stands after a compaction (``messages`` without
        the system prompt): :meth:`resume` continues from the latest checkpoint plus
        the messages saved after it, instead of the whole session. :meth:`restore`
        still returns every message saved."""
        return self.save_event(session_id, "checkpoint", {"messages": list(messages)})

    def add_steps(self, session_id: str, steps: int = 1) -> int:
        """Add ``steps`` to the session's step count; returns the new count."""
        with self._tx() as db:
            n = db.execute("UPDATE sessions SET extra_steps = extra_steps + ? WHERE id = ?",
                           (int(steps), session_id)).rowcount
        if not n:
            raise self._unknown(session_id)
        return self.get_session(session_id).step_count

    def get_step_count(self, session_id: str) -> int:
        return self.get_session(session_id).step_count

    # --- reading ----------------------------------------------------------------

    def restore(self, session_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The session's messages, oldest first (only the last ``limit`` if given)."""
        if not self.exists(session_id):
            raise self._unknown(session_id)
        if limit:
            rows = self._read("SELECT data FROM (SELECT seq, data FROM entries WHERE "
                              "session_id=? AND kind='message' ORDER BY seq DESC LIMIT ?) "
                              "ORDER BY seq", (session_id, int(limit)))
        else:
            rows = self._read("SELECT data FROM entries WHERE session_id=? AND "
                              "kind='message' ORDER BY seq", (session_id,))
        loads = json.loads
        return [loads(r[0]) for r in rows]

    def entries(self, session_id: str) -> Iterator[Entry]:
        """Every entry of the session, oldest first."""
        if not self.exists(session_id):
            raise self._unknown(session_id)
        rows = self._read("SELECT seq, kind, ts, data FROM entries WHERE session_id=? "
                          "ORDER BY seq", (session_id,))
        for seq, kind, ts, data in rows:
            yield Entry(session_id, seq, kind, ts, json.loads(data))

    def resume(self, session_id: str | None = None, *, intent: str = "run",
               limit: int | None = None) -> tuple[str, list[dict[str, Any]]]:
        """Continue ``session_id`` (created when new, a fresh id when ``None``): its id
        and the history to put before the next task."""
        if session_id is None:
            return self.create(intent=intent), []
        check_session_id(session_id)
        if not self.exists(session_id):
            try:
                return self.create(intent=intent, session_id=session_id), []
            except UserError:
                pass  # another process created it meanwhile: continue it
        limit = limit if limit is not None else self.restore_limit or None
        return session_id, continuable(self._history(session_id, limit))

    def _history(self, session_id: str, limit: int | None) -> list[dict[str, Any]]:
        """The latest checkpoint's messages and every message saved after it."""
        cp = self._read("SELECT seq, data FROM entries WHERE session_id = ? AND "
                        "kind = 'event' AND role = 'checkpoint' ORDER BY seq DESC LIMIT 1",
                        (session_id,))
        if not cp:
            return self.restore(session_id, limit=limit)
        rows = self._read("SELECT data FROM entries WHERE session_id = ? AND "
                          "kind = 'message' AND seq > ? ORDER BY seq", (session_id, cp[0][0]))
        history = [*json.loads(cp[0][1]).get("messages", []),
                   *(json.loads(r[0]) for r in rows)]
        return history[-limit:] if limit else history

    # --- the agent's bus --------------------------------------------------------

    def attach(self, bus: Any, session_id: str) -> Callable[[], None]:
        """Record the agent's ``compaction`` events (and run boundaries) in the session.

        Returns:
            A function that detaches again."""
        from teragent_sessions.transcript import subscribe

        return subscribe(self, bus, session_id)

    # --- housekeeping -----------------------------------------------------------

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database."""
        return str(self._read("PRAGMA integrity_check")[0][0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
        if self.transcripts is not None:
            self.transcripts.close()

    def __enter__(self) -> "SessionPersistence":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionPersistence(db_path={self.db_path!r})"


def _split(script: str) -> list[str]:
    """The schema's statements (a trigger body holds ``;`` too)."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER")
                                   or text.upper().endswith("END;")):
            out.append(text)
            buf = []
    return out
