"""TerAgent's exception hierarchy.

Every error the framework raises on purpose is a :class:`TerAgentError`::

    TerAgentError
    ├── UserError                    misconfiguration; the message ends with the fix
    │   ├── ConfigError              bad agent.toml (names file, line and key)
    │   ├── MissingPluginError       names the ``pip install`` command
    │   │   └── MissingPluginImportError  ... for a documented module (also ImportError)
    │   ├── MissingCredentialsError  names the environment variable to set
    │   ├── UnknownComponentError    unknown compiler/adapter/tool name ("Did you mean ...?")
    │   ├── SandboxUnavailableError  the requested sandbox backend/level cannot run here
    │   └── IncompatiblePromptError  a compiled prompt the adapter cannot carry
    ├── PluginError                  a plugin failed (carries name, distribution, version)
    │   └── PluginValidationError    a hookimpl that matches no spec, or a bad signature
    └── RunError                     failures at run time (carries run state)
        ├── ModelAPIError            provider, model, status, redacted body, retry_after
        │   ├── RateLimitError       HTTP 429
        │   ├── QuotaExceededError   balance, quota or plan exhausted; never retried
        │   ├── ContextOverflowError the prompt exceeds the model's context window
        │   ├── StreamError          a stream broke off or carried malformed data
        │   └── ModelTimeoutError    the request timed out
        ├── ToolExecutionError       a tool raised (wrapped, tool named)
        ├── BudgetExceeded           a hard budget was reached
        ├── CircuitOpenError         a circuit breaker refuses calls (too many failures)
        ├── MaxStepsExceeded         the step budget ran out
        ├── GuardrailTripped         a guardrail's tripwire fired
        ├── PermissionDenied         a permission layer refused a tool call or path
        └── RunCancelled             the run was cancelled cooperatively

Secrets never appear in these messages: :func:`redact` scrubs bodies and messages
before they are stored on an error.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterable

__all__ = [
    "TerAgentError",
    "UserError",
    "ConfigError",
    "MissingPluginError",
    "MissingPluginImportError",
    "MissingCredentialsError",
    "UnknownComponentError",
    "SandboxUnavailableError",
    "IncompatiblePromptError",
    "PluginError",
    "PluginValidationError",
    "RunError",
    "ModelAPIError",
    "RateLimitError",
    "QuotaExceededError",
    "ContextOverflowError",
    "StreamError",
    "ModelTimeoutError",
    "ToolExecutionError",
    "BudgetExceeded",
    "CircuitOpenError",
    "MaxStepsExceeded",
    "GuardrailTripped",
    "PermissionDenied",
    "RunCancelled",
    "counts_against_breakers",
    "did_you_mean",
    "redact",
]

# Patterns that look like credentials: vendor key prefixes, bearer tokens, and
# "key=value" pairs whose key names a secret.
_SECRET_PATTERNS = [
    re.compile(r"(sk-[A-Za-z0-9_\-]{8,})"),
    re.compile(r"(sk-ant-[A-Za-z0-9_\-]{8,})"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._\-]{8,})"),
    re.compile(
        r"(?i)((?:api[_-]?key|secret|token|password|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',}]{6,})"
    ),
]


def redact(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """Return ``text`` with credentials replaced by ``***``.

    Args:
        text: Any string that may reach a log, an error or a trace.
        secrets: Exact secret values known to the caller (e.g. the resolved API key);
            these are removed first, whatever their shape.
    """
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""``."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""


class TerAgentError(Exception):
    """Base class of every error TerAgent raises on purpose."""


class UserError(TerAgentError):
    """The user (or a config file) asked for something that cannot work; says the fix."""


class ConfigError(UserError):
    """A configuration file is invalid.

    With ``table``, the message reads ``agent.toml:LINE: [table] key: what is wrong,
    how to fix``; without it, ``agent.toml:LINE: [dotted.key] ...``.

    Attributes:
        path: The file, when known.
        line: The 1-based line, when known.
        key: The dotted key, when known (inside ``table`` when that is given).
        table: The table the key belongs to, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        table: str | None = None,
    ) -> None:
        self.path, self.line, self.key, self.table = path, line, key, table
        where = ""
        if path:
            where = f"{path}"
            if line:
                where += f":{line}"
            where += ": "
        if table:
            where += f"[{table}] " + (f"{key}: " if key else "")
        elif key:
            where += f"[{key}] "
        super().__init__(f"{where}{message}")


class MissingPluginError(UserError):
    """A component lives in a plugin that is not installed."""

    def __init__(self, component: str, distribution: str) -> None:
        self.component, self.distribution = component, distribution
        super().__init__(
            f"{component} is provided by the plugin {distribution!r}, which is not "
            f"installed. Install it with: pip install {distribution}"
        )


class MissingPluginImportError(MissingPluginError, ModuleNotFoundError):
    """A documented module path whose code is in a plugin that is not installed.

    Both a :class:`MissingPluginError` (the message names ``pip install ...``) and a
    ``ModuleNotFoundError``, so code that walks packages or guards imports with
    ``except ImportError`` keeps working."""

    def __init__(self, component: str, distribution: str, *, name: str | None = None) -> None:
        MissingPluginError.__init__(self, component, distribution)
        self.name = name
        self.path = None
        self.msg = str(self)


class MissingCredentialsError(UserError):
    """An API key was expected in an environment variable and is not there."""

    def __init__(self, env_var: str, provider: str = "") -> None:
        self.env_var = env_var
        who = f" for {provider}" if provider else ""
        super().__init__(
            f"No API key found{who}: the environment variable {env_var} is not set. "
            f"Store one with: teragent keys set {env_var} (or export {env_var}=..., or "
            f"add '{env_var}=...' to a .env file)."
        )


class UnknownComponentError(UserError):
    """An unknown compiler, adapter, tool, pattern or plugin name."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        known = sorted(known)
        self.kind, self.name, self.known = kind, name, known
        msg = f"Unknown {kind} {name!r}.{did_you_mean(name, known)}"
        msg += f" Known {kind}s: {', '.join(known) if known else '(none registered)'}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class SandboxUnavailableError(UserError):
    """No requested sandbox backend (nor any configured fallback) can run here.

    Attributes:
        tried: One "name: reason" line per backend that was considered.
    """

    def __init__(self, message: str, *, tried: Iterable[str] = ()) -> None:
        self.tried = list(tried)
        super().__init__(message)


class IncompatiblePromptError(UserError):
    """The compiled prompt cannot be carried by the chosen adapter or compiler."""


class PluginError(TerAgentError):
    """A plugin failed to load or misbehaved.

    Attributes:
        plugin: The entry-point name.
        distribution: The distribution that ships it.
        version: That distribution's version.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str = "",
        distribution: str = "",
        version: str = "",
    ) -> None:
        self.plugin, self.distribution, self.version = plugin, distribution, version
        super().__init__(message)


class PluginValidationError(PluginError):
    """A hookimpl does not match any hook spec, or its signature is wrong."""


class RunError(TerAgentError):
    """A failure while running; carries what is known of the run's state.

    Attributes:
        state: A small dict (step, messages so far, ...) for diagnostics.
    """

    def __init__(self, message: str, *, state: dict[str, Any] | None = None) -> None:
        self.state = state or {}
        super().__init__(message)


class ModelAPIError(RunError):
    """The model API answered with an error, or could not be reached.

    Attributes:
        provider: Adapter name (``openai_compatible``, ...).
        model: Model name.
        status: HTTP status, if there was a response.
        body: The response body with secrets redacted (at most 2,000 characters).
        retry_after: Seconds the server asked us to wait, if it said.
        retryable: Whether repeating the same request may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        body: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.provider, self.model, self.status = provider, model, status
        self.body = (redact(body) or "")[:2000] if body else None
        self.retry_after = retry_after
        if retryable is None:
            retryable = status is None or status == 429 or status >= 500
        self.retryable = retryable
        parts = [redact(message) or ""]
        if status is not None:
            parts.append(f"(HTTP {status}")
            parts[-1] += f", provider={provider}, model={model})" if provider else ")"
        super().__init__(" ".join(parts), state=state)


class RateLimitError(ModelAPIError):
    """HTTP 429: the provider is rate limiting us."""


def counts_against_breakers(exc: BaseException) -> bool:
    """Whether a failed model call counts toward the circuit breakers.

    A retryable rate limit (HTTP 429) is back-pressure from a healthy server: the
    limiter and the backoff deal with it, and opening the circuit would turn a short
    wait into a minute-long outage. Every other failure counts."""
    return not (isinstance(exc, RateLimitError) and exc.retryable)


class QuotaExceededError(ModelAPIError):
    """The account's balance, quota or plan is exhausted (MiniMax 1008, GLM 1113, ...).

    Vendors often send these as HTTP 429 or even HTTP 200, but waiting does not help:
    ``retryable`` is always ``False``. Deliberately not a :class:`RateLimitError`, so
    code that backs off on rate limits does not retry it.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["retryable"] = False
        super().__init__(message, **kwargs)


class ContextOverflowError(ModelAPIError):
    """The request does not fit the model's context window."""


class StreamError(ModelAPIError):
    """A streaming response broke off or carried malformed data."""


class ModelTimeoutError(ModelAPIError):
    """The model request timed out."""


class ToolExecutionError(RunError):
    """A tool raised an exception."""


class BudgetExceeded(RunError):
    """A hard budget (tokens or money) was reached."""


class CircuitOpenError(RunError):
    """A circuit breaker is open: calls are refused until its cooldown has passed."""


class MaxStepsExceeded(RunError):
    """The step budget is exhausted."""


class GuardrailTripped(RunError):
    """A guardrail's tripwire fired."""


class PermissionDenied(RunError):
    """A permission layer refused a tool call or a path."""


class RunCancelled(RunError):
    """The run was cancelled cooperatively."""
