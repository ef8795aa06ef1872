"""The HTTP seam every adapter shares: one pooled client, and error translation.

:func:`make_async_client` builds the single pooled :class:`httpx.AsyncClient` an adapter
keeps for its whole life. The client always speaks httpx's API; what moves the bytes is
the *transport*:

- an :class:`httpx.AsyncBaseTransport` instance (tests pass ``httpx.MockTransport`` or
  ``httpx.ASGITransport``);
- ``"aiohttp"``: aiohttp under httpx's API, through the ``httpx-aiohttp`` package
  (``pip install teragent[aiohttp]``);
- ``"httpx"``: httpx's own connection pool (httpcore);
- ``None``: ``TERAGENT_HTTP_TRANSPORT`` if set, else :data:`DEFAULT_TRANSPORT`
  (aiohttp when installed, see ``docs/decisions/http-transport.md`` for the figures),
  else httpx.

:func:`map_http_error` and :func:`error_from_response` translate httpx exceptions and
error responses into :mod:`teragent.errors` at the adapter seam; bodies are redacted
before they are stored on an error.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from typing import Any, Iterable, Mapping

import httpx

from teragent.errors import (
    ContextOverflowError, MissingPluginError, ModelAPIError, ModelTimeoutError,
    RateLimitError, StreamError, UserError, redact,
)

__all__ = [
    "DEFAULT_TRANSPORT",
    "TRANSPORT_ENV",
    "make_async_client",
    "resolve_transport",
    "parse_retry_after",
    "error_from_response",
    "map_http_error",
    "is_context_overflow",
]

#: The transport used when none is asked for (chosen from bench/bench_http.py figures:
#: aiohttp is ~2-3x faster sequentially and many times faster under concurrency).
DEFAULT_TRANSPORT = "aiohttp"
#: Environment variable that overrides the default transport ("httpx" or "aiohttp").
TRANSPORT_ENV = "TERAGENT_HTTP_TRANSPORT"

_TRANSPORT_NAMES = ("httpx", "aiohttp")
# Enough keep-alive connections for a few dozen concurrent agent tasks per provider;
# httpx's default (20) makes the 21st concurrent request open and drop a socket.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100,
                       keepalive_expiry=30.0)

_CONTEXT_MARKERS = (
    "context_length_exceeded", "maximum context length", "context length",
    "context window", "too many tokens", "prompt is too long", "input is too long",
)


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:
        raise MissingPluginError("The 'aiohttp' HTTP transport", "teragent[aiohttp]") from exc
    # (annotated: older httpx-aiohttp releases ship no type information)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=_LIMITS)
    return transport


def _aiohttp_available() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_transport(transport: Any = None) -> httpx.AsyncBaseTransport | None:
    """Turn a transport choice into a transport instance (``None`` = httpx's own).

    Raises:
        UserError: for an unknown transport name.
        MissingPluginError: for ``"aiohttp"`` without ``httpx-aiohttp`` installed.
    """
    if isinstance(transport, httpx.AsyncBaseTransport):
        return transport
    explicit = transport is not None
    if transport is None:
        env = os.environ.get(TRANSPORT_ENV, "").strip().lower()
        explicit = bool(env)
        transport = env or DEFAULT_TRANSPORT
    if not isinstance(transport, str) or transport.lower() not in _TRANSPORT_NAMES:
        raise UserError(
            f"Unknown HTTP transport {transport!r}. Use 'httpx' or 'aiohttp' (or an "
            f"httpx.AsyncBaseTransport instance), e.g. {TRANSPORT_ENV}=httpx."
        )
    name = transport.lower()
    if name == "httpx":
        return None
    if not explicit and not _aiohttp_available():
        return None  # the default quietly falls back to httpx's own pool
    return _aiohttp_transport()


def make_async_client(
    base_url: str,
    *,
    timeout: float | httpx.Timeout,
    headers: Mapping[str, str] | None = None,
    transport: Any = None,
) -> httpx.AsyncClient:
    """Build the one pooled async client an adapter keeps.

    Args:
        base_url: The API root; request paths are relative to it.
        timeout: Seconds for a whole request (or an :class:`httpx.Timeout`).
        headers: Default headers (``Authorization`` etc.).
        transport: See the module docstring.
    """
    resolved = resolve_transport(transport)
    if not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout, connect=min(float(timeout), 30.0))
    kwargs: dict[str, Any] = {"base_url": base_url, "timeout": timeout,
                              "headers": dict(headers or {})}
    if resolved is not None:
        kwargs["transport"] = resolved
    else:
        kwargs["limits"] = _LIMITS
    return httpx.AsyncClient(**kwargs)


# --- errors ------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    # OpenAI also sends retry-after-ms; prefer it when present (finer grained).
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _error_message(body: str) -> str:
    """The vendor's own error message from a JSON error body, if it has one."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return body.strip()[:300]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("code") or err.get("type") or "")[:300]
    if isinstance(err, str):
        return err[:300]
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:300]
    return body.strip()[:300]


def is_context_overflow(body: str) -> bool:
    """Whether an error body says the prompt does not fit the context window."""
    low = body.lower()
    return any(marker in low for marker in _CONTEXT_MARKERS)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    provider: str = "",
    model: str = "",
    api_key_env: str | None = None,
    secrets: Iterable[str] = (),
) -> ModelAPIError:
    """The :mod:`teragent.errors` exception for an HTTP error response.

    429 → :class:`RateLimitError` (``retry_after`` from ``Retry-After``); 5xx →
    retryable :class:`ModelAPIError`; 400/413 about context length →
    :class:`ContextOverflowError`; 401/403 → non-retryable, naming the key variable;
    other 4xx → non-retryable (408 and 409 are retryable).
    """
    secrets = [s for s in secrets if s]
    body = redact(body, secrets) or ""
    detail = redact(_error_message(body), secrets) or ""
    common: dict[str, Any] = {"provider": provider, "model": model, "status": status,
                              "body": body}
    where = f" from {provider}" if provider else ""
    if status == 429:
        retry_after = _retry_after(headers)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return RateLimitError(f"Rate limited{where}{wait}: {detail}", retry_after=retry_after,
                              retryable=True, **common)
    if status in (400, 413, 422) and is_context_overflow(body):
        return ContextOverflowError(
            f"The prompt exceeds the model's context window: {detail}. Shorten the "
            "conversation (compact the context) or choose a model with a larger window.",
            retryable=False, **common)
    if status in (401, 403):
        var = api_key_env or "the API key environment variable"
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return ModelAPIError(
            f"The API{where} {what}: {detail}. Check that {var} holds a valid key for "
            "this base_url and model.", retryable=False, **common)
    if status >= 500:
        return ModelAPIError(f"Server error{where}: {detail}", retryable=True,
                             retry_after=_retry_after(headers), **common)
    return ModelAPIError(f"Request rejected{where}: {detail}",
                         retryable=status in (408, 409), **common)


def _cause_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 5:
        names.update(c.__name__ for c in type(cur).__mro__)
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return names


def map_http_error(
    exc: Exception,
    *,
    provider: str = "",
    model: str = "",
    during_stream: bool = False,
    secrets: Iterable[str] = (),
) -> ModelAPIError:
    """The :mod:`teragent.errors` exception for an httpx (transport) exception.

    Timeouts → :class:`ModelTimeoutError`; connection and protocol errors → retryable
    :class:`ModelAPIError` (a :class:`StreamError` when the body was being read).
    """
    secrets = [s for s in secrets if s]
    text = redact(f"{type(exc).__name__}: {exc}", secrets) or type(exc).__name__
    where = f" to {provider}" if provider else ""
    causes = _cause_names(exc)
    # httpx-aiohttp maps every aiohttp ClientConnectionError (a server closing the
    # socket included) to ConnectTimeout; look through to the real cause.
    disconnected = bool(causes & {"ServerDisconnectedError", "ClientOSError",
                                  "ClientConnectorError", "ClientPayloadError"})
    if isinstance(exc, httpx.TimeoutException) and not disconnected:
        return ModelTimeoutError(f"The request{where} timed out ({text}).",
                                 provider=provider, model=model, retryable=True)
    if during_stream:
        return StreamError(f"The stream{where} broke off ({text}).",
                           provider=provider, model=model, retryable=True)
    return ModelAPIError(f"Could not reach the API{where} ({text}).",
                         provider=provider, model=model, retryable=True)
