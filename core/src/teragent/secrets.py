"""Which names hold secrets: the one vocabulary every layer uses.

A name (an environment variable, a tool parameter, a config key, an HTTP header) is
split into words at ``_``, ``-``, ``.``, spaces and camelCase boundaries, and upper-cased:
``OPENAI_API_KEY`` → ``OPENAI API KEY``, ``x-api-key`` → ``X API KEY``, ``apiKey`` →
``API KEY``. It names a secret when one word is in :data:`SECRET_WORDS` or ends with
one of :data:`SECRET_SUFFIXES` (``MYAPIKEY``, ``GHTOKEN``). Socket paths
(``SSH_AUTH_SOCK``) and the shell's own ``PWD``/``OLDPWD``/``KEYMAP``/``XAUTHORITY``
are not secrets.

Used by: the environment scrub of every sandboxed or hooked process
(:func:`teragent.security.processes.clean_environment`), the audit log's field
redaction (:func:`teragent.audit.redact_params`), the key auditor of ``teragent
doctor`` (``strict=True``: the *last* word names the secret, so ``session_dir`` is a
path, not a secret) and teragent-shellguard's ``printenv``/``echo $VAR`` checks.

Secret *values* (shapes such as ``sk-...``) are :func:`teragent.errors.redact`'s
business; ``.env`` loading is :mod:`teragent.config.secrets`'.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

__all__ = ["SECRET_WORDS", "SECRET_SUFFIXES", "is_secret_name", "name_words",
           "redact_fields", "refuse_inline_secrets"]

#: Words that make a name secret wherever they appear in it.
SECRET_WORDS = frozenset({
    "KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "CREDENTIAL",
    "CREDENTIALS", "AUTH", "AUTHORIZATION", "SESSION", "COOKIE", "PAT", "DSN", "PRIVATE",
})
#: A word ending like this is secret too (``MYAPIKEY``, ``GHTOKEN``, ``DBPASSWORD``).
SECRET_SUFFIXES = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "KEYMAP", "XAUTHORITY"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> list[str]:
    """``"x-apiKey_v2"`` → ``["X", "API", "KEY", "V", "2"]``."""
    return [w.upper() for w in _WORD.findall(name)]


def _secret_word(word: str) -> bool:
    return word in SECRET_WORDS or word.endswith(SECRET_SUFFIXES)


def is_secret_name(name: str, *, strict: bool = False) -> bool:
    """Whether ``name`` names a secret (see the module docstring).

    Args:
        name: An environment variable, parameter, header or config key name.
        strict: Only the last word counts (for config keys: ``api_key`` and
            ``session_token`` are secrets, ``session_dir`` and ``max_tokens`` are not).
    """
    if not name or name.upper() in _NOT_SECRET:
        return False
    words = name_words(name)
    if not words or "SOCK" in words:
        return False
    if strict:
        return _secret_word(words[-1])
    return any(_secret_word(w) for w in words)


def redact_fields(value: Any, secrets: Iterable[str] = (), *, strict: bool = False) -> Any:
    """A copy of ``value`` with secret-named fields masked (``"***"``) and secret-shaped
    strings redacted (:func:`teragent.errors.redact`, plus the exact ``secrets``).
    ``strict``: names judged by their last word (config keys: ``api_key`` is masked,
    ``api_key_env`` and ``token_budget`` are not; see :func:`is_secret_name`)."""
    from teragent.errors import redact

    secrets = tuple(secrets)
    if isinstance(value, dict):
        return {k: ("***" if isinstance(k, str) and is_secret_name(k, strict=strict)
                    and v not in (None, "") else redact_fields(v, secrets, strict=strict))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_fields(v, secrets, strict=strict) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


def refuse_inline_secrets(data: Any, known: Iterable[str]) -> Any:
    """``data`` unchanged, or ``ValueError`` when a config table writes a secret inline:
    a key outside ``known`` (the model's fields) whose name holds a secret
    (``token = "..."``). The error names the ``_env`` key to use, never the value.
    For a pydantic ``model_validator(mode="before")``."""
    if isinstance(data, dict):
        fields = set(known)
        for key in data:
            if isinstance(key, str) and key not in fields and is_secret_name(key, strict=True):
                raise ValueError(
                    f"{key!r}: secrets do not go in agent.toml; put the value in an "
                    f"environment variable (or .env, or teragent keys set NAME) and "
                    f"write {key}_env = \"NAME\"")
    return data
