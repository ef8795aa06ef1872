"""TerAgent plugin: sessions on SQLite, JSONL transcripts, per-session lanes.

Only hookimpls live here. The package is served as the documented
``teragent.session`` (``from teragent.session import SessionPersistence``) and
``teragent.config.session_config``; its names are imported on first use.
"""

from __future__ import annotations

from typing import Any

from teragent.hookspecs import Register, RegisterCommand, hookimpl
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SessionPersistence": "teragent_sessions.sqlite",
    "SessionConfig": "teragent_sessions.config",
    "SessionStore": "teragent_sessions.store",
    "SessionInfo": "teragent_sessions.store",
    "Entry": "teragent_sessions.store",
    "UnknownSessionError": "teragent_sessions.store",
    "InvalidSessionId": "teragent_sessions.store",
    "continuable": "teragent_sessions.store",
    "TranscriptWriter": "teragent_sessions.transcript",
    "export": "teragent_sessions.transcript",
    "LaneQueue": "teragent_sessions.lanes",
    "LaneBackend": "teragent_sessions.lanes",
    "RunTicket": "teragent_sessions.lanes",
    "UnknownRunError": "teragent_sessions.lanes",
    "build_session_store": "teragent_sessions.wiring",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("session", "teragent_sessions.config:SessionConfig",
             description="Session persistence: SQLite store, JSONL transcripts")


@hookimpl
def teragent_build_session_store(config: dict[str, Any], workspace: str) -> Any:
    from teragent_sessions.wiring import build_session_store

    return build_session_store(config, workspace)


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("sessions", "teragent_sessions.cli:cmd_sessions",
             help="Saved sessions: sessions list|show|export|delete",
             add_arguments="teragent_sessions.cli:args_sessions")


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports("teragent.session", _EXPORTS, globals())
