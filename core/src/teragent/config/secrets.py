"""API keys: resolved from environment variables, then ``.env`` files; never logged.

Search order for ``.env``: the current directory, ``~/.env``, then the project root
(the nearest parent with ``.git`` or ``pyproject.toml``). The process environment
always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from teragent.errors import MissingCredentialsError

__all__ = ["resolve_api_key", "read_dotenv", "dotenv_paths", "mask", "project_root"]


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


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines (``export``, quotes and ``#`` comments allowed)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


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
