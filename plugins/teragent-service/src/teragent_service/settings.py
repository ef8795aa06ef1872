"""What one service instance needs to know: where workspaces live, the database, the
users' API tokens, limits, and how each conversation gets its model."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from teragent.errors import UserError

__all__ = ["ServiceSettings", "parse_tokens", "TOKENS_ENV", "database_path"]

#: ``user:token`` pairs separated by commas (or newlines), e.g. ``alice:s3cret,bob:t0ken``.
TOKENS_ENV = "TERAGENT_SERVICE_TOKENS"


def parse_tokens(text: str, *, where: str = TOKENS_ENV) -> dict[str, str]:
    """``"alice:tok1,bob:tok2"`` → ``{digest(tok1): "alice", ...}``.

    Only digests of the tokens are kept, so a token never sits in memory dumps of the
    settings or in an error message."""
    out: dict[str, str] = {}
    for n, item in enumerate(p.strip() for p in text.replace("\n", ",").split(",")):
        if not item or item.startswith("#"):
            continue
        user, sep, token = item.partition(":")
        user, token = user.strip(), token.strip()
        if not sep or not user or not token:
            raise UserError(f"{where}: entry {n + 1} is not 'user:token'; write the users as "
                            "'alice:TOKEN_A,bob:TOKEN_B' (one user may have several tokens).")
        if len(token) < 8:
            raise UserError(f"{where}: the token of user {user!r} is shorter than 8 "
                            "characters; use a long random one (e.g. `openssl rand -hex 24`).")
        out[token_digest(token)] = user
    return out


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def database_path(url: str) -> Path:
    """``sqlite:///relative.db``, ``sqlite:////abs.db`` or a plain path → the file."""
    if url.startswith("sqlite+aiosqlite://"):
        url = "sqlite://" + url[len("sqlite+aiosqlite://"):]
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    if "://" in url:
        raise UserError(f"database URL {url.split('://')[0]}://... is not supported; the "
                        "service stores conversations in SQLite: use sqlite:///PATH.db "
                        "or a plain file path.")
    return Path(url)


@dataclass
class ServiceSettings:
    """Settings of one service instance.

    Args:
        workspace_root: Every user's conversations get a directory below it
            (``<root>/<user>/<conversation id>``); nothing is written outside it
            except the database.
        database: SQLite file of conversations and transcripts.
        tokens: Digest → user (see :func:`parse_tokens`); empty: the service refuses
            to start unless ``open_access`` is set (then everyone is user ``local``).
        provider_factory: ``(conversation) -> ModelProvider`` for a conversation's agent
            (a factory that also takes ``agent=`` is asked once more per teammate with
            its name); default: ``model`` (or ``agent.toml``'s driver, else the local
            model) through :func:`teragent.build_agent`.
        model: A model reference for :func:`teragent.build_agent`.
        config: ``agent.toml`` as a dict (``{}``: defaults) for every agent.
        approval_timeout: Seconds an approval request waits before it is denied.
        max_upload_bytes: Per-file limit of uploads.
        max_read_bytes: Files read for preview are cut at this size.
        allow_shell: Conversations without approval may run shell commands.
        event_buffer: Events kept per conversation for clients that reconnect.
        skills_dir: Folder of shared ``SKILL.md`` skills (each user may add their own).
        max_active_conversations: Conversations kept in memory (agent, events); past
            it the least recently used idle ones are closed (their history stays in
            the database; their event stream starts again).
    """

    workspace_root: Path
    database: Path
    tokens: dict[str, str] = field(default_factory=dict)
    open_access: bool = False
    provider_factory: Callable[[Any], Any] | None = None
    model: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    approval_timeout: float = 300.0
    max_upload_bytes: int = 10 * 1024 * 1024
    max_read_bytes: int = 100 * 1024
    allow_shell: bool = False
    event_buffer: int = 5000
    skills_dir: Path | None = None
    max_steps: int = 50
    subagent_max_steps: int = 20
    max_active_conversations: int = 500
    max_teammates: int = 5
    teammate_idle_timeout: float = 60.0
    teammate_idle_poll: float = 5.0
    background_timeout: float = 300.0

    def __post_init__(self) -> None:
        self.workspace_root = Path(os.path.realpath(self.workspace_root))
        self.database = Path(self.database)
        if not self.tokens and not self.open_access:
            raise UserError(f"no API tokens: set {TOKENS_ENV}='alice:TOKEN,...' (or "
                            "--tokens-file) so each user gets their own conversations, or "
                            "pass --open for a single-user local service.")

    def user_for(self, token: str | None) -> str | None:
        if not token:
            return "local" if self.open_access and not self.tokens else None
        return self.tokens.get(token_digest(token))
