"""Who owns which conversation, and its settings and token usage (SQLite).

The transcript itself lives in :class:`teragent_sessions.SessionPersistence` (same
database file); this table adds what a multi-user service needs on top of it: the
owner, the feature flags chosen at creation, and the running token totals.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ConversationMeta", "ConversationStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS service_conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL DEFAULT 'default',
    enable_teams INTEGER NOT NULL DEFAULT 0,
    enable_tracing INTEGER NOT NULL DEFAULT 0,
    enable_approval INTEGER NOT NULL DEFAULT 0,
    session_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    turns INTEGER NOT NULL DEFAULT 0,
    tool_policy TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS service_conversations_owner ON service_conversations(owner);
"""
_COLS = ("id, owner, title, preset, enable_teams, enable_tracing, enable_approval, "
         "session_id, created_at, updated_at, prompt_tokens, completion_tokens, turns, "
         "tool_policy")


@dataclass
class ConversationMeta:
    id: str
    owner: str
    title: str
    preset: str
    enable_teams: bool
    enable_tracing: bool
    enable_approval: bool
    session_id: str | None
    created_at: float
    updated_at: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    turns: int = 0
    tool_policy: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("owner")
        out["usage"] = {"prompt_tokens": self.prompt_tokens,
                        "completion_tokens": self.completion_tokens,
                        "total_tokens": self.prompt_tokens + self.completion_tokens}
        return out


class ConversationStore:
    """Conversations by owner. Every query takes the owner: a conversation of another
    user is simply not found."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Like teragent-sessions' default durability: a commit survives the process, no
        # fsync per turn (usage totals are bookkeeping, the transcript is the record).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(service_conversations)")}
        if "tool_policy" not in columns:  # a database from before tool policies
            self._db.execute("ALTER TABLE service_conversations ADD COLUMN tool_policy TEXT "
                             "NOT NULL DEFAULT '{}'")
        self._lock = threading.Lock()

    def _row(self, row: tuple[Any, ...] | None) -> ConversationMeta | None:
        if row is None:
            return None
        (cid, owner, title, preset, teams, tracing, approval, sid, created, updated,
         prompt, completion, turns, policy) = row
        return ConversationMeta(cid, owner, title, preset, bool(teams), bool(tracing),
                                bool(approval), sid, created, updated, prompt, completion,
                                turns, json.loads(policy or "{}"))

    def create(self, owner: str, *, title: str = "", preset: str = "default",
               enable_teams: bool = False, enable_tracing: bool = False,
               enable_approval: bool = False,
               tool_policy: dict[str, Any] | None = None) -> ConversationMeta:
        now = time.time()
        meta = ConversationMeta(uuid.uuid4().hex, owner, title, preset, enable_teams,
                                enable_tracing, enable_approval, None, now, now,
                                tool_policy=dict(tool_policy or {}))
        with self._lock:
            self._db.execute(
                "INSERT INTO service_conversations (id, owner, title, preset, enable_teams, "
                "enable_tracing, enable_approval, session_id, created_at, updated_at, "
                "tool_policy) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (meta.id, owner, title, preset, int(enable_teams), int(enable_tracing),
                 int(enable_approval), None, now, now, json.dumps(meta.tool_policy)))
        return meta

    def get(self, owner: str, cid: str) -> ConversationMeta | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLS} FROM service_conversations "
                                   "WHERE id=? AND owner=?", (cid, owner)).fetchone()
        return self._row(row)

    def list(self, owner: str) -> list[ConversationMeta]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLS} FROM service_conversations WHERE owner=? "
                                    "ORDER BY updated_at DESC", (owner,)).fetchall()
        return [m for m in (self._row(r) for r in rows) if m is not None]

    def set_session(self, cid: str, session_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE service_conversations SET session_id=? WHERE id=?",
                             (session_id, cid))

    def set_title(self, cid: str, title: str) -> None:
        with self._lock:
            self._db.execute("UPDATE service_conversations SET title=? WHERE id=?",
                             (title, cid))

    def add_usage(self, cid: str, prompt: int, completion: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE service_conversations SET prompt_tokens=prompt_tokens+?, "
                "completion_tokens=completion_tokens+?, turns=turns+1, updated_at=? "
                "WHERE id=?", (int(prompt), int(completion), time.time(), cid))

    def delete(self, owner: str, cid: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM service_conversations WHERE id=? AND owner=?",
                                   (cid, owner))
        return cur.rowcount > 0

    def close(self) -> None:
        self._db.close()
