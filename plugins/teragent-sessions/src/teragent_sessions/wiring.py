"""The store an agent gets from ``[session]`` (``teragent_build_session_store``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Mapping

from teragent_sessions.config import SessionConfig

__all__ = ["build_session_store", "session_config"]

# One store per database file in a process: every agent built against the same file
# shares its connection and lock (cheaper, and writes serialise in-process).
_STORES: dict[str, Any] = {}
_LOCK = threading.Lock()


def session_config(config: Mapping[str, Any]) -> SessionConfig:
    """``[session]`` of ``config``, validated (defaults when absent)."""
    from teragent.config.loader import validate_table

    return validate_table(config, "session", SessionConfig)  # type: ignore[no-any-return]


def build_session_store(config: Mapping[str, Any], workspace: str) -> Any:
    """The SQLite store of ``[session]`` (``None`` when ``backend`` is another's)."""
    cfg = session_config(config)
    if cfg.backend != "sqlite":
        return None
    from teragent_sessions.sqlite import SessionPersistence

    base = Path(workspace)
    db = (base / cfg.path).resolve()
    transcripts = (base / cfg.transcript_dir).resolve() if cfg.transcripts else None
    key = f"{db}|{transcripts}|{cfg.durability}|{cfg.restore_limit}"
    with _LOCK:
        store = _STORES.get(key)
        if store is None or getattr(store, "_closed", False):
            store = _STORES[key] = SessionPersistence(
                db, transcript_dir=transcripts, durability=cfg.durability,
                restore_limit=cfg.restore_limit)
        return store
