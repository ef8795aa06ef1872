"""``SessionConfig``: the ``[session]`` table of ``agent.toml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SessionConfig"]


class SessionConfig(BaseModel):
    """Session persistence settings (``[session]`` in ``agent.toml``).

    With the table present (and ``enabled``), every agent :func:`teragent.build_agent`
    builds saves its conversation, each in a new session unless one is named
    (``teragent run``, ``teragent chat`` and library agents alike; the turns of an
    orchestration's agents are not saved). Without it, only runs given a session
    (``teragent run --session NAME``, ``build_agent(session_id=...)``) and ``teragent
    chat`` are saved (``teragent chat`` continues the workspace's latest chat session;
    ``--new`` starts another).

    Example::

        [session]
        path = ".teragent/sessions.db"
        transcripts = true
    """

    model_config = ConfigDict(extra="forbid")

    #: Save conversations at all (``false`` turns sessions off, ``teragent chat`` too).
    enabled: bool = True
    #: The store: ``"sqlite"`` is this plugin's; other plugins add their own.
    backend: str = Field(default="sqlite", min_length=1)
    #: The SQLite database, relative to the workspace. Under ``.teragent/`` the agent's
    #: own file tools cannot rewrite its history (a protected path).
    path: str = Field(default=".teragent/sessions.db", min_length=1)
    #: Mirror every entry to ``<transcript_dir>/<session>.jsonl`` (readable with jq).
    transcripts: bool = True
    #: Where the JSONL transcripts go, relative to the workspace.
    transcript_dir: str = Field(default=".teragent/transcripts", min_length=1)
    #: ``"process"``: an acknowledged message survives a crash of the process
    #: (WAL, synchronous=NORMAL). ``"power"``: it survives a power cut too (fsync on
    #: every commit, synchronous=FULL; slower).
    durability: Literal["process", "power"] = "process"
    #: How many of the latest messages a continued session brings back into the
    #: conversation (0: all of them; context compaction trims what does not fit).
    restore_limit: int = Field(default=0, ge=0)
