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

Sensitive tool arguments: a tool names the parameters whose values are secrets
(:attr:`teragent.tools.BaseTool.sensitive_params`, e.g. the text the desktop tool types
into a password box). The tool receives the real value; every record of the call shows
``"[redacted: N chars]"`` instead (:func:`redact_arguments`): the audit log, the events
(``tool_start``, ``tool_call_ready``, ``model_end``), the conversation kept for later
model calls (and so sessions, transcripts and request traces), the response traces and
``AgentResult.as_dict()``. Declarations are kept per tool name for the process
(:func:`declare_sensitive_arguments`), so a recorder that only sees a call's name and
arguments (a tracer inside the provider) redacts as well as one that holds the tool.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

__all__ = ["SECRET_WORDS", "SECRET_SUFFIXES", "is_secret_name", "name_words",
           "redact_fields", "refuse_inline_secrets", "declare_sensitive_arguments",
           "sensitive_arguments", "redact_arguments", "redacted_value", "redact_tool_call",
           "redact_response", "schema_secret_paths"]

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


# --- sensitive tool arguments ---------------------------------------------------------

#: Tool name -> the parameters whose values are secrets (see the module docstring).
_SENSITIVE: dict[str, frozenset[str]] = {}


def declare_sensitive_arguments(tool_name: str, names: Iterable[str]) -> None:
    """Record that ``tool_name``'s ``names`` parameters hold secrets. Declarations add up
    (a second tool of the same name only redacts more). Called for every
    :class:`~teragent.tools.BaseTool` that sets ``sensitive_params`` (class creation,
    registry, orchestrator); call it yourself for a recorder outside those."""
    names = frozenset(names)
    if tool_name and names and not names <= _SENSITIVE.get(tool_name, frozenset()):
        _SENSITIVE[tool_name] = _SENSITIVE.get(tool_name, frozenset()) | names


def sensitive_arguments(tool_name: str) -> frozenset[str]:
    """The declared sensitive parameters of ``tool_name`` (empty when none)."""
    return _SENSITIVE.get(tool_name, frozenset())


_PLACEHOLDER = re.compile(r"\[redacted(?:: \d+ chars)?\]")


def redacted_value(value: Any) -> str:
    """What a record shows instead of a sensitive value: ``"[redacted: 14 chars]"``
    (a value redacted already stays as it is: records may pass through twice)."""
    if isinstance(value, str):
        return value if _PLACEHOLDER.fullmatch(value) else f"[redacted: {len(value)} chars]"
    return "[redacted]"


def redact_arguments(tool_name: str, arguments: Any,
                     names: Iterable[str] | None = None) -> Any:
    """``arguments`` with the sensitive parameters' values replaced
    (:func:`redacted_value`); the same object when nothing is sensitive, a copy
    otherwise (the tool's own arguments are never changed).

    Args:
        tool_name: The tool called.
        arguments: The call's arguments (a dict; anything else is returned as is).
        names: The sensitive parameters, when the caller holds the tool; default: the
            declarations for ``tool_name``. A dotted name (``body.password``) names a
            field inside an object argument.
    """
    sensitive = _SENSITIVE.get(tool_name) if names is None else frozenset(names)
    if not sensitive or not isinstance(arguments, dict):
        return arguments
    return _redact_paths(arguments, [n.split(".") for n in sensitive])


def _redact_paths(value: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    """``value`` with each path's value redacted; a dotted name (``body.password``)
    reaches into nested objects. The same dict when no path is present."""
    out = value
    for key in {p[0] for p in paths if p[0] in value}:
        inner = [p[1:] for p in paths if p[0] == key]
        new: Any
        if [] in inner:
            new = redacted_value(value[key])
        elif isinstance(value[key], dict):
            new = _redact_paths(value[key], inner)
        else:
            continue
        if new is not value[key]:
            out = dict(out) if out is value else out
            out[key] = new
    return out


def schema_secret_paths(schema: Any) -> tuple[str, ...]:
    """The arguments a tool's JSON Schema marks as secret: properties with ``format:
    password`` or ``writeOnly: true`` (what pydantic's ``SecretStr``, FastAPI and most
    OpenAPI generators emit), as dotted paths through nested objects
    (``body.credentials.password``), following local ``$ref`` s and the branches of
    ``allOf``/``anyOf``/``oneOf``. Tools add them to their ``sensitive_params``."""
    def resolve(node: Any, hops: int = 0) -> Any:
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/") or hops > 16:
            return node if isinstance(node, dict) else {}
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return resolve(target, hops + 1)

    def branches(node: dict[str, Any]) -> list[Any]:
        return [resolve(b) for k in ("allOf", "anyOf", "oneOf") for b in node.get(k) or ()]

    def marked(node: dict[str, Any], depth: int = 0) -> bool:
        return (node.get("format") == "password" or node.get("writeOnly") is True
                or depth < 4 and any(marked(b, depth + 1) for b in branches(node)))

    def walk(node: dict[str, Any], prefix: str, depth: int) -> list[str]:
        if depth > 8:
            return []
        found: list[str] = []
        for name, sub in (node.get("properties") or {}).items():
            sub = resolve(sub)
            found += [prefix + name] if marked(sub) else walk(sub, f"{prefix}{name}.", depth + 1)
        for branch in branches(node):  # an object made of parts: their fields, same level
            found += walk(branch, prefix, depth + 1)
        return found

    return tuple(sorted(set(walk(resolve(schema), "", 0)))) if isinstance(schema, dict) else ()


def redact_tool_call(call: Any) -> Any:
    """A ``ToolCall`` fit for a record: the same object when nothing is sensitive, else
    a copy with the sensitive arguments (and the raw JSON text) redacted."""
    name = getattr(call, "name", "")
    if name not in _SENSITIVE:
        return call
    raw = getattr(call, "raw_arguments", "")
    if getattr(call, "parse_error", None) and raw:
        # Text that is not a JSON object: no field to find the secret in, so all of it.
        return call.model_copy(update={"raw_arguments": redacted_value(raw)})
    args = getattr(call, "arguments", None)
    shown = redact_arguments(name, args)
    if shown is args:
        return call
    import json

    return call.model_copy(update={"arguments": shown, "raw_arguments": json.dumps(shown)})


def redact_response(response: Any) -> Any:
    """A ``TAPResponse`` fit for a record (its tool calls through
    :func:`redact_tool_call`); the same object when none is sensitive."""
    calls = getattr(response, "tool_calls", None)
    if not calls or not _SENSITIVE:
        return response
    shown = [redact_tool_call(c) for c in calls]
    if all(a is b for a, b in zip(shown, calls)):
        return response
    return response.model_copy(update={"tool_calls": shown})
