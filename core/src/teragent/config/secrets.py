"""API keys: resolved from environment variables, then ``.env`` files; never logged.

This is the one place ``.env`` files and the key file are read (``.env`` with
python-dotenv). The key file is ``keys.json`` in the user config directory, written by
``teragent keys set NAME`` with mode 0600 (like llm's ``keys.json``); it is consulted
after the environment and the ``.env`` files.

Search order for ``.env``: the current directory, ``~/.env``, then the project root
(the nearest parent with ``.git`` or ``pyproject.toml``). The process environment
always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from teragent.errors import MissingCredentialsError

__all__ = ["resolve_api_key", "read_dotenv", "dotenv_entries", "dotenv_paths", "mask",
           "project_root", "keys_path", "read_keys", "store_key", "remove_key"]


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
    value = read_keys().get(env_var)
    if value:
        return value
    if required:
        raise MissingCredentialsError(env_var, provider)
    return None


def keys_path() -> Path:
    """``keys.json`` in the user config directory (it may not exist)."""
    from teragent.config.loader import user_config_dir

    return user_config_dir() / "keys.json"


def read_keys() -> dict[str, str]:
    """The stored keys, ``{NAME: value}``; a missing or unreadable file has none."""
    import json

    try:
        data = json.loads(keys_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str) and v}


def _write_keys(keys: dict[str, str]) -> Path:
    import json

    path = keys_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # created 0600 from the start: the value is never readable by others, not even briefly
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(dict(sorted(keys.items())), fh, indent=2)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def store_key(name: str, value: str) -> Path:
    """Store ``value`` as the key ``name`` (an environment variable name); returns the
    file. The file is mode 0600."""
    if not name or not all(c.isalnum() or c == "_" for c in name):
        from teragent.errors import UserError

        raise UserError(f"{name!r} is not a key name; use the environment variable's "
                        "name, e.g. teragent keys set OPENAI_API_KEY")
    keys = read_keys()
    keys[name] = value
    return _write_keys(keys)


def remove_key(name: str) -> bool:
    """Forget the stored key ``name``; ``False`` when there was none."""
    keys = read_keys()
    if name not in keys:
        return False
    del keys[name]
    _write_keys(keys)
    return True


def mask(secret: str | None) -> str:
    """``sk-abc...xyz`` → ``sk-a***``: enough to tell keys apart, not to use one."""
    if not secret:
        return "(none)"
    return secret[:4] + "***" if len(secret) > 8 else "***"
