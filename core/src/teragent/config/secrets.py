"""API keys: resolved from environment variables, then ``.env`` files; never logged.

This is the one place ``.env`` files are read (with python-dotenv).

Search order for ``.env``: the current directory, ``~/.env``, then the project root
(the nearest parent with ``.git`` or ``pyproject.toml``). The process environment
always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from teragent.errors import MissingCredentialsError

__all__ = ["resolve_api_key", "read_dotenv", "dotenv_entries", "dotenv_paths", "mask",
           "project_root"]


def project_root(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / ".git").exists() or (p / "pyproject.toml").exists() or (p / "agent.toml").exists():
            return p
    return None


def dotenv_paths() -> list[Path]:
    paths = [Path.cwd() / ".env", Path.home() / ".env"]
    root = project_root()
    if root is not None:
        paths.append(root / ".env")
    seen, out = set(), []
    for p in paths:
        rp = p.resolve()
        if rp not in seen:
            seen.add(rp)
            out.append(p)
    return out


def dotenv_entries(path: Path) -> list[tuple[int, str, str]]:
    """``(line, key, value)`` for every assignment in a ``.env`` file, in file order
    (duplicates included; the auditor reports them). Parsed by python-dotenv, without
    ``${VAR}`` interpolation; an unreadable file has none."""
    from dotenv.parser import parse_stream

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    import io

    return [(b.original.line, b.key, b.value) for b in parse_stream(io.StringIO(text))
            if b.key is not None and b.value is not None and not b.error]


def read_dotenv(path: Path) -> dict[str, str]:
    """The ``KEY=value`` pairs of a ``.env`` file (``export``, quotes and ``#`` comments
    allowed; python-dotenv's syntax); the last definition of a key wins."""
    return {key: value for _line, key, value in dotenv_entries(path)}


def resolve_api_key(env_var: str | None, *, required: bool = True,
                    provider: str = "") -> str | None:
    """The key named by ``env_var`` from the environment or a ``.env`` file."""
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if value:
        return value
    for path in dotenv_paths():
        value = read_dotenv(path).get(env_var)
        if value:
            return value
    if required:
        raise MissingCredentialsError(env_var, provider)
    return None


def mask(secret: str | None) -> str:
    """``sk-abc...xyz`` → ``sk-a***``: enough to tell keys apart, not to use one."""
    if not secret:
        return "(none)"
    return secret[:4] + "***" if len(secret) > 8 else "***"
